package redact_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/regimport/regimport/internal/redact"
)

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://alice:s3cret@db.example:5432/cat?sslmode=require":          "postgres://alice@db.example:5432/cat?sslmode=require",
		"postgres://alice@db.example/cat?sslmode=disable&password=s3cret":      "postgres://alice@db.example/cat?sslmode=disable&password=xxxxx",
		"postgresql:///cat?host=/run/pg&PassWord=s3cret&sslpassword=s3cret":    "postgresql:///cat?host=/run/pg&PassWord=xxxxx&sslpassword=xxxxx",
		"postgres://db.example/cat#password=s3cret":                            "postgres://db.example/cat",
		"https://u:s3cret@sigs.example/team/app@sha256=ab/signature-1":         "https://u@sigs.example/team/app@sha256=ab/signature-1",
		"https://cdn.example/b?X-Amz-Signature=s3cret&X-Amz-Credential=s3cret": "https://cdn.example/b?X-Amz-Signature=xxxxx&X-Amz-Credential=xxxxx",
		"https://reg.example/token?service=s&refresh_token=s3cret&scope=repo":  "https://reg.example/token?service=s&refresh_token=xxxxx&scope=repo",
		"https://reg.example/v2/a/tags/list?n=1000&last=v9":                    "https://reg.example/v2/a/tags/list?n=1000&last=v9",
		"postgres://alice:s3%zzcret@db.example/cat":                            "postgres://(unparsable URL)",
		"/var/lib/regimport/catalog.db":                                        "/var/lib/regimport/catalog.db",
	} {
		got := redact.URL(in)
		if got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(got, "s3cret") || strings.Contains(got, "s3%zzcret") {
			t.Errorf("URL(%q) = %q keeps the secret", in, got)
		}
	}
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"manifest unknown":            "manifest unknown",
		"\x1b[2J\x1b[31mpwned\x1b[0m": "\uFFFD[2J\uFFFD[31mpwned\uFFFD[0m",
		"a\u009b31mb":                 "a\uFFFD31mb",
		"line\r\nnext\tcol":           "line\uFFFD\uFFFDnext\uFFFDcol",
		"abc\u202Eevil":               "abc\uFFFDevil",
		"bad \xff byte":               "bad \uFFFD byte",
		"ünïcödé is fine, 日本語 too":    "ünïcödé is fine, 日本語 too",
	} {
		if got := redact.Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

// An error a library wrote with the DSN's credentials in it loses every
// one of them, the userinfo password and credential parameters alike; an
// error without them is returned as it is.
func TestError(t *testing.T) {
	dsn := "postgres://alice:pw-user@db.example/cat?sslmode=require&password=pw-param&sslpassword=pw-ssl"
	err := errors.New("failed to connect to `user=alice password=pw-user` (sslpassword pw-ssl, password pw-param): sslmode=require")
	got := redact.Error(err, dsn).Error()
	for _, secret := range []string{"pw-user", "pw-param", "pw-ssl"} {
		if strings.Contains(got, secret) {
			t.Errorf("Error kept %q: %s", secret, got)
		}
	}
	if !strings.Contains(got, "sslmode=require") || !strings.Contains(got, "user=alice") {
		t.Errorf("Error lost what is not a secret: %s", got)
	}
	plain := errors.New("connection refused")
	if redact.Error(plain, dsn) != plain {
		t.Error("an error without secrets was rewritten")
	}
}
