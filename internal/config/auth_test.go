package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAutoconfirmResolvesPerEnvironment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		environment, setting string
		want                 bool
	}{
		{EnvDevelopment, AutoconfirmAuto, true},
		{EnvDevelopment, AutoconfirmTrue, true},
		{EnvDevelopment, AutoconfirmFalse, false},
		{EnvDevelopment, "AUTO", true},
		{EnvStaging, AutoconfirmAuto, false},
		{EnvStaging, AutoconfirmTrue, true},
		{EnvProduction, AutoconfirmAuto, false},
		{EnvProduction, AutoconfirmTrue, true},
		{EnvProduction, AutoconfirmFalse, false},
		{EnvProduction, "True", true},
		{EnvDevelopment, "False", false},
	}
	for _, tt := range tests {
		t.Run(tt.environment+"/"+tt.setting, func(t *testing.T) {
			t.Parallel()
			c := Defaults()
			c.Environment = tt.environment
			require.Equal(t, tt.want, c.Autoconfirm(tt.setting))
		})
	}
}

func TestAutoconfirmDefaultsToAuto(t *testing.T) {
	t.Parallel()
	c := Defaults()
	require.Equal(t, AutoconfirmAuto, c.Auth.MailerAutoconfirm)
	require.Equal(t, AutoconfirmAuto, c.Auth.PhoneAutoconfirm)
	require.True(t, c.Autoconfirm(c.Auth.MailerAutoconfirm), "development confirms by itself")
	c.Environment = EnvProduction
	require.False(t, c.Autoconfirm(c.Auth.MailerAutoconfirm), "production sends confirmations")
}
