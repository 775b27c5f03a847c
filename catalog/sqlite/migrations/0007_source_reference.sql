-- 0007: dockerImageReference as the user wrote it.
--
-- OpenShift keeps the spelling of the reference the user imported from
-- (nginx@sha256:..., not docker.io/library/nginx@sha256:...). The served
-- dockerImageReference is source_reference; docker_image_reference stays the
-- normalized key that lookups, HEAD re-runs and reports use. NULL (images an
-- older regimport stored) serves docker_image_reference.
ALTER TABLE images ADD COLUMN source_reference TEXT;
