-- Social sign-in (OAuth 2.0 / OpenID Connect). As in GoTrue (its migration 20260115000000),
-- every OAuth flow — PKCE or implicit — is a row of auth.flow_state from GET /authorize to
-- GET|POST /callback, carrying what GoTrue once put in a signed state JWT: where to go back
-- to, the account being linked and an invitation. Implicit flows have no code challenge and
-- no auth code.
ALTER TABLE auth.flow_state
  ADD COLUMN IF NOT EXISTS invite_token text,
  ADD COLUMN IF NOT EXISTS referrer text,
  ADD COLUMN IF NOT EXISTS oauth_client_state_id uuid,
  ADD COLUMN IF NOT EXISTS linking_target_id uuid,
  ADD COLUMN IF NOT EXISTS email_optional boolean NOT NULL DEFAULT false,
  -- Go Forward: the OpenID Connect nonce sent to the provider, which the id_token must carry.
  ADD COLUMN IF NOT EXISTS oidc_nonce text;

ALTER TABLE auth.flow_state
  ALTER COLUMN code_challenge DROP NOT NULL,
  ALTER COLUMN code_challenge_method DROP NOT NULL,
  ALTER COLUMN auth_code DROP NOT NULL;

COMMENT ON TABLE auth.flow_state IS 'Stores metadata for all OAuth/SSO login flows';
