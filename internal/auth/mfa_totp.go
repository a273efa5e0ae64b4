package auth

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters, GoTrue's (and what authenticator apps assume): SHA-1, 6 digits, a new
// code every 30 seconds, and one step of clock skew either way.
const (
	totpPeriod = 30
	totpSkew   = 1
)

// maxIssuer bounds issuer, which must fit in the QR code with the secret.
const maxIssuer = 255

// enrollTOTP creates a TOTP factor: a fresh 160-bit secret, stored sealed, returned once with
// its otpauth:// URI and that URI as a QR code. The issuer defaults to SiteURL's host and the
// account name is the user's e-mail address (or phone number, or id).
func (s *Service) enrollTOTP(w http.ResponseWriter, r *http.Request, c *caller, p enrollParams) error {
	issuer := p.Issuer
	if issuer == "" {
		site, err := url.Parse(s.cfg.SiteURL)
		if err != nil {
			return internalError("site url is improperly formatted", err)
		}
		issuer = site.Host
	}
	if len(issuer) > maxIssuer {
		return badRequest(CodeValidationFailed, "issuer must be at most %d characters", maxIssuer)
	}
	account := c.User.Email
	if account == "" {
		account = c.User.Phone
	}
	if account == "" {
		account = c.User.ID
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: totpPeriod})
	if err != nil {
		return internalError("Error generating QR Code", err)
	}
	svg, err := qrSVG(key.URL())
	if err != nil {
		return internalError("Error generating QR Code", err)
	}
	f := factorRow{factor: factor{ID: newID(), FriendlyName: p.FriendlyName, FactorType: factorTOTP}}
	ctx, client := r.Context(), clientOf(r)
	err = inTx(ctx, s.pool, func(tx pgx.Tx) error {
		return s.insertFactor(ctx, tx, c, f, s.secrets.seal(key.Secret(), f.ID), client)
	})
	if err != nil {
		return err
	}
	return writeJSON(w, enrollResponse{
		ID: f.ID, Type: factorTOTP, FriendlyName: f.FriendlyName,
		TOTP: &totpObject{QRCode: svg, Secret: key.Secret(), URI: key.URL()},
	})
}

// totpStep returns the time step (unix time / 30) whose code code is, among the steps within
// totpSkew of now. Every candidate is computed and compared in constant time, so the answer
// takes as long whichever step matches.
func totpStep(secret, code string, now time.Time) (int64, bool, error) {
	current := now.Unix() / totpPeriod
	opts := totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	var (
		matched int64
		found   bool
	)
	for step := current - totpSkew; step <= current+totpSkew; step++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), opts)
		if err != nil {
			return 0, false, fmt.Errorf("compute TOTP code: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			matched, found = step, true
		}
	}
	return matched, found, nil
}
