package auth

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/httpx"
)

// msgEmailChangeHalf answers the first of the two confirmations of a secure e-mail change.
const msgEmailChangeHalf = "Confirmation link accepted. Please proceed to confirm link sent to the other email"

// verifyParams is the body of POST /verify: a code with the address it was sent to, or a
// token hash alone.
type verifyParams struct {
	Type      string `json:"type"`
	Token     string `json:"token"`
	TokenHash string `json:"token_hash"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
}

// verifyCode is POST /verify (supabase.auth.verifyOtp): it answers with a session, or with a
// message for the first half of an e-mail change.
func (s *Service) verifyCode(w http.ResponseWriter, r *http.Request) error {
	var p verifyParams
	if err := decodeBody(r, &p); err != nil {
		return err
	}
	if p.Type == "" {
		return badRequest(CodeValidationFailed, "Verify requires a verification type")
	}
	if tokenTypesFor(p.Type) == nil {
		return badRequest(CodeValidationFailed, "Unsupported verification type")
	}
	badCode := forbidden(CodeOTPExpired, msgOTPInvalid)
	v := verification{Type: p.Type}
	switch {
	case p.TokenHash != "" && isPhoneVerification(p.Type):
		// Text messages carry no link; an e-mail link must not confirm a phone number.
		return badRequest(CodeValidationFailed, "Invalid email verification type")
	case p.TokenHash != "":
		if len(p.TokenHash) > maxTokenLength {
			return badCode
		}
		v.Link = strings.TrimPrefix(p.TokenHash, pkcePrefix)
	case p.Token == "":
		return badRequest(CodeValidationFailed, "Verify requires either a token or a token hash")
	case len(p.Token) > maxTokenLength:
		return badCode
	case isPhoneVerification(p.Type):
		if p.Phone == "" {
			return badRequest(CodeValidationFailed, "Only an email address or phone number should be provided on verify")
		}
		phone, err := normalisePhone(p.Phone)
		if err != nil {
			return err
		}
		v.Address = phone
	default:
		if p.Email == "" {
			return badRequest(CodeValidationFailed, "Only an email address or phone number should be provided on verify")
		}
		email, err := normaliseEmail(p.Email)
		if err != nil {
			return err
		}
		v.Address = email
	}
	if v.Link == "" {
		v.Code = strings.ReplaceAll(p.Token, "-", "")
	}
	if err := s.limit(r, s.limits.verify, v.Address); err != nil {
		return err
	}

	ctx, client := r.Context(), clientOf(r)
	var res *verified
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		res, err = s.verify(ctx, tx, v, client)
		return err
	})
	if errors.Is(err, errBadCode) {
		// A typed code counts against the address's pending tokens. A wrong link secret names
		// no token to count against, and with 224 random bits it cannot be guessed: only the
		// per-IP limit applies to it.
		if err := s.recordBadCode(ctx, v, client); err != nil {
			return internalError("Database error recording a wrong code", err)
		}
		return badCode
	}
	if err != nil {
		return err
	}
	if res.HalfConfirmed {
		return writeJSON(w, map[string]string{"msg": msgEmailChangeHalf, "code": "200"})
	}
	return writeJSON(w, res.Session)
}

// linkTypes are the verification types e-mail links carry.
var linkTypes = map[string]bool{
	verifySignup: true, verifyInvite: true, verifyMagicLink: true, verifyRecovery: true, verifyEmailChange: true,
}

// verifyLink is GET /verify, the link in e-mails. It always answers 303: to redirect_to with
// the session in the fragment (implicit flow), with ?code= (PKCE flow), or with the error in
// the fragment (and, for PKCE, the query), as supabase-js's detectSessionInUrl expects.
func (s *Service) verifyLink(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	token, verifyType := q.Get("token"), q.Get("type")
	if token == "" {
		return badRequest(CodeValidationFailed, "Verify requires a token")
	}
	if verifyType == "" {
		return badRequest(CodeValidationFailed, "Verify requires a verification type")
	}
	if err := s.limit(r, s.limits.verify); err != nil {
		return err
	}
	target := s.allowedRedirect(q.Get("redirect_to"))
	pkce := strings.HasPrefix(token, pkcePrefix)
	fail := func(e *httpx.AppError) error {
		http.Redirect(w, r, errorRedirect(target, e, pkce), http.StatusSeeOther)
		return nil
	}
	if !linkTypes[verifyType] {
		return fail(badRequest(CodeValidationFailed, "Unsupported verification type"))
	}
	if len(token) > maxTokenLength {
		return fail(forbidden(CodeOTPExpired, msgEmailLinkInvalid))
	}

	ctx, client := r.Context(), clientOf(r)
	var res *verified
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		res, err = s.verify(ctx, tx, verification{Type: verifyType, Link: strings.TrimPrefix(token, pkcePrefix), PKCE: pkce}, client)
		return err
	})
	switch {
	case errors.Is(err, errBadCode):
		return fail(forbidden(CodeOTPExpired, msgEmailLinkInvalid))
	case err != nil:
		appErr := httpx.AsAppError(err)
		if appErr.Status >= http.StatusInternalServerError {
			httpx.Logger(ctx).ErrorContext(ctx, "verifying an e-mail link failed", "request_id", httpx.RequestID(ctx), "error", err)
		}
		return fail(appErr)
	}

	u, perr := url.Parse(target)
	if perr != nil {
		return internalError("Invalid redirect URL", perr)
	}
	u.Fragment, u.RawFragment = "", ""
	switch {
	case res.HalfConfirmed:
		msg := url.Values{"message": {msgEmailChangeHalf}}.Encode()
		if pkce {
			query := u.Query()
			query.Set("message", msgEmailChangeHalf)
			u.RawQuery = query.Encode()
		}
		http.Redirect(w, r, u.String()+"#"+msg, http.StatusSeeOther)
	case res.AuthCode != "":
		query := u.Query()
		query.Set("code", res.AuthCode)
		u.RawQuery = query.Encode()
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
	default:
		http.Redirect(w, r, u.String()+"#"+res.Session.fragment(verifyType), http.StatusSeeOther)
	}
	return nil
}

// oauthErrors maps statuses to OAuth error names in error redirects, as GoTrue does.
var oauthErrors = map[int]string{
	http.StatusBadRequest:          "invalid_request",
	http.StatusUnauthorized:        "unauthorized_client",
	http.StatusForbidden:           "access_denied",
	http.StatusInternalServerError: "server_error",
	http.StatusServiceUnavailable:  "temporarily_unavailable",
}

// errorRedirect puts e into target's fragment (and, for PKCE, its query), dropping target's
// own query: redirect_to#error=access_denied&error_code=otp_expired&error_description=…&sb=.
func errorRedirect(target string, e *httpx.AppError, pkce bool) string {
	u, err := url.Parse(target)
	if err != nil {
		return target
	}
	v := url.Values{}
	if name, ok := oauthErrors[e.Status]; ok {
		v.Set("error", name)
	}
	code, msg := e.Code, e.Message
	if e.Status >= http.StatusInternalServerError {
		code, msg = CodeUnexpectedFailure, msgInternal
	}
	v.Set("error_code", code)
	v.Set("error_description", msg)
	u.RawQuery = ""
	if pkce {
		u.RawQuery = v.Encode()
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String() + "#" + v.Encode() + "&sb="
}
