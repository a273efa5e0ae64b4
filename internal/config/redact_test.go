package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"postgres URL", "postgres://user:s3cret@host/db", "postgres://user:[redacted]@host/db"},
		{"postgresql URL with port and options", "postgresql://app:s3cret@db:5432/app?sslmode=require", "postgresql://app:[redacted]@db:5432/app?sslmode=require"},
		{"no password", "postgres://app@db/app", "postgres://app@db/app"},
		{"no userinfo", "postgres://db/app", "postgres://db/app"},
		{"password in the query", "postgres://db/app?user=app&password=s3cret&sslmode=disable", "postgres://db/app?user=app&password=[redacted]&sslmode=disable"},
		{"sslpassword in the query", "postgres://db/app?sslpassword=s3cret", "postgres://db/app?sslpassword=[redacted]"},
		{"escaped query key", "postgres://db/app?pass%77ord=s3cret", "postgres://db/app?pass%77ord=[redacted]"},
		{"unescaped @ in the password", "postgres://app:s3@cret@db/app", "postgres://app:[redacted]@db/app"},
		{"multiple hosts", "postgres://app:s3cret@h1:5432,h2:5432/app", "postgres://app:[redacted]@h1:5432,h2:5432/app"},
		{"redis password only", "redis://:s3cret@cache:6379/0", "redis://:[redacted]@cache:6379/0"},
		{"rediss user and password", "rediss://default:s3cret@cache:6380", "rediss://default:[redacted]@cache:6380"},
		{"key=value DSN", "host=db user=app password=s3cret dbname=app", "host=db user=app password=[redacted] dbname=app"},
		{"key=value DSN with a quoted password", "host=db password='s3 cr\\'et' dbname=app", "host=db password=[redacted] dbname=app"},
		{"key=value DSN with spaces around =", "host=db password = s3cret", "host=db password = [redacted]"},
		{"key=value DSN with sslpassword", "host=db sslpassword=s3cret", "host=db sslpassword=[redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := redactURL(tt.in)
			require.Equal(t, tt.want, got)
			require.NotContains(t, got, "s3cret")
		})
	}
}

func TestRedactedHidesEverySecret(t *testing.T) {
	t.Parallel()
	const (
		jwtSecret    = "jwt-secret-value-0123456789abcdefghijklmnop"
		authPassword = "authenticator-password-value"
		dbPassword   = "database-password-value"
		redisPass    = "redis-password-value"
	)
	c := Defaults()
	c.JWT.Secret = jwtSecret
	c.Database.AuthenticatorPassword = authPassword
	c.Database.URL = "postgres://app:" + dbPassword + "@db.internal:5432/app?sslmode=require"
	c.Redis.URL = "redis://default:" + redisPass + "@cache.internal:6379/0"
	c.Server.TrustedProxies = []string{"10.0.0.0/8"}
	original := c

	r := c.Redacted()
	out, err := r.YAML()
	require.NoError(t, err)
	for _, secret := range []string{jwtSecret, authPassword, dbPassword, redisPass} {
		require.NotContains(t, string(out), secret)
	}
	require.Equal(t, RedactedMark, r.JWT.Secret)
	require.Equal(t, RedactedMark, r.Database.AuthenticatorPassword)
	require.Equal(t, "postgres://app:[redacted]@db.internal:5432/app?sslmode=require", r.Database.URL)
	require.Equal(t, "redis://default:[redacted]@cache.internal:6379/0", r.Redis.URL)

	require.Equal(t, original, c, "the receiver is not changed")
	r.Server.TrustedProxies[0] = "changed"
	r.Services[0] = "changed"
	require.Equal(t, "10.0.0.0/8", c.Server.TrustedProxies[0], "the copy shares no lists with the original")
	require.Equal(t, "auth", c.Services[0])

	r.JWT, r.Database.AuthenticatorPassword, r.Database.URL, r.Redis.URL = c.JWT, c.Database.AuthenticatorPassword, c.Database.URL, c.Redis.URL
	r.Server.TrustedProxies, r.Services = c.Server.TrustedProxies, c.Services
	require.Equal(t, c, r, "nothing but secrets changes")
}

// Every field tagged as a secret is covered, so a secret added later cannot be forgotten by
// Redacted once it carries the tag.
func TestRedactedCoversEveryTaggedField(t *testing.T) {
	t.Parallel()
	c := Defaults()
	v := reflect.ValueOf(&c).Elem()
	var markers []string
	for _, f := range leafFields() {
		if !f.secret() {
			continue
		}
		marker := "marker-" + strings.ReplaceAll(f.key, ".", "-")
		markers = append(markers, marker)
		value := marker
		if f.redact == redactPassword {
			value = "postgres://user:" + marker + "@host/db"
		}
		if fv := v.FieldByIndex(f.index); fv.Kind() == reflect.Slice {
			fv.Set(reflect.ValueOf([]string{value}))
		} else {
			fv.SetString(value)
		}
	}
	require.Len(t, markers, 18, "jwt.secret, jwt.previous_secret, database.authenticator_password, database.url, database.read_replicas, redis.url, auth.smtp.password, auth.sms.twilio.auth_token, auth.external.*.secret (7), auth.external.apple.private_key, storage.s3.secret_key, alerts.webhook.secret")

	out, err := c.Redacted().YAML()
	require.NoError(t, err)
	for _, marker := range markers {
		require.NotContains(t, string(out), marker)
	}
}

func TestRedactedKeepsUnsetSecretsEmpty(t *testing.T) {
	t.Parallel()
	r := Defaults().Redacted()
	require.Empty(t, r.JWT.Secret, "an empty secret shows it will be generated")
	require.Empty(t, r.Database.AuthenticatorPassword)
	require.Empty(t, r.Database.URL)
	require.Equal(t, Defaults(), r)
}
