-- Asymmetric JWT signing keys (ES256, RS256) beside the HS256 secret, Supabase's signing-key
-- system: the current key signs user access tokens, a standby key is published in the JWKS
-- before it signs, previous keys only verify until their tokens expire, revoked keys are
-- refused. The private key is sealed (AES-256-GCM, key derived from the JWT secret, bound to
-- the key's id) like TOTP secrets; only the public key is stored in the clear. Nothing here
-- is reachable by an API role: internal/signingkeys reads it on the owner's connection.
CREATE TABLE goforward.signing_keys (
  id uuid PRIMARY KEY,
  algorithm text NOT NULL CHECK (algorithm IN ('ES256', 'RS256')),
  status text NOT NULL CHECK (status IN ('standby', 'current', 'previous', 'revoked')),
  -- The public key as a JWK (what /auth/v1/.well-known/jwks.json publishes).
  public_jwk jsonb NOT NULL,
  -- PKCS #8 DER, sealed: "gf1:" || base64(nonce || ciphertext).
  private_key text NOT NULL,
  created_at timestamptz NOT NULL,
  created_by jsonb NOT NULL DEFAULT '{}',
  -- When it became current, when it stopped being current, when it was revoked.
  activated_at timestamptz,
  retired_at timestamptz,
  revoked_at timestamptz
);
-- One key signs, one waits.
CREATE UNIQUE INDEX signing_keys_current_idx ON goforward.signing_keys (status) WHERE status IN ('current', 'standby');

-- Every node holds the ring in memory and reloads it when this channel rings, so a rotation
-- or a revocation reaches every node at once.
CREATE FUNCTION goforward.signing_keys_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('goforward_signing_keys', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END::text);
  RETURN NULL;
END
$$;
CREATE TRIGGER signing_keys_notify AFTER INSERT OR UPDATE OR DELETE ON goforward.signing_keys
  FOR EACH ROW EXECUTE FUNCTION goforward.signing_keys_notify();
