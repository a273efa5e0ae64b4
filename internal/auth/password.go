package auth

import (
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/bcrypt"

	"github.com/goforward/goforward/internal/httpx"
)

// characterClasses are the sets PasswordRequiredCharacters names, written out as GoTrue's
// PASSWORD_REQUIRED_CHARACTERS lists them in its message.
var characterClasses = map[string]string{
	CharsLower:   "abcdefghijklmnopqrstuvwxyz",
	CharsUpper:   "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
	CharsDigits:  "0123456789",
	CharsSymbols: "!@#$%^&*()_+-=[]{};'\\:\"|<>?,./`~",
}

// passwords hashes and checks passwords. bcrypt is the most expensive thing the service does
// (about 60 ms a hash at cost 10), so hashing runs in a pool of GOMAXPROCS slots: a burst of
// sign-ins queues here instead of taking every CPU from the rest of the server.
type passwords struct {
	cost      int
	minLength int
	required  []string // character sets, one of each must appear
	slots     chan struct{}
	// dummyHash is compared against when the account does not exist, so that an unknown
	// address costs the same time as a wrong password.
	dummyHash []byte
	// dummyCompares counts those comparisons; tests read it to see the dummy path taken.
	dummyCompares atomic.Int64
}

func newPasswords(cfg Config) (*passwords, error) {
	p := &passwords{
		cost:      cfg.BcryptCost,
		minLength: cfg.PasswordMinLength,
		slots:     make(chan struct{}, runtime.GOMAXPROCS(0)),
	}
	for _, class := range cfg.PasswordRequiredCharacters {
		p.required = append(p.required, characterClasses[class])
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), cfg.BcryptCost)
	if err != nil {
		return nil, fmt.Errorf("auth: dummy password hash: %w", err)
	}
	p.dummyHash = hash
	return p, nil
}

// acquire waits for a hashing slot or for ctx to end.
func (p *passwords) acquire(ctx context.Context) error {
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *passwords) release() { <-p.slots }

// hash returns the bcrypt hash of password, which the caller has checked with policy.
func (p *passwords) hash(ctx context.Context, password string) (string, error) {
	if err := p.acquire(ctx); err != nil {
		return "", err
	}
	defer p.release()
	h, err := bcrypt.GenerateFromPassword([]byte(password), p.cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// matches reports whether password matches hash. An empty hash (a user without a password)
// is compared against the dummy hash, so that it takes as long as a real mismatch.
func (p *passwords) matches(ctx context.Context, hash, password string) (bool, error) {
	if hash == "" {
		return false, p.compareDummy(ctx, password)
	}
	if err := p.acquire(ctx); err != nil {
		return false, err
	}
	defer p.release()
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(truncate72(password))) == nil, nil
}

// compareDummy spends the time of one comparison without an account to compare against.
func (p *passwords) compareDummy(ctx context.Context, password string) error {
	if err := p.acquire(ctx); err != nil {
		return err
	}
	defer p.release()
	p.dummyCompares.Add(1)
	_ = bcrypt.CompareHashAndPassword(p.dummyHash, []byte(truncate72(password)))
	return nil
}

// truncate72 keeps comparisons of over-long passwords as slow as the others; such passwords
// can never have been stored, so they never match a real hash anyway.
func truncate72(password string) string {
	if len(password) > maxPasswordBytes {
		return password[:maxPasswordBytes]
	}
	return password
}

// policy checks a new password: 422 validation_failed when bcrypt cannot take it, 422
// weak_password with GoTrue's reasons ("length", "characters") when it breaks a rule.
func (p *passwords) policy(password string) *httpx.AppError {
	if len(password) > maxPasswordBytes {
		return unprocessable(CodeValidationFailed, "Password cannot be longer than %d characters", maxPasswordBytes)
	}
	var reasons, messages []string
	if len(password) < p.minLength {
		reasons = append(reasons, "length")
		messages = append(messages, fmt.Sprintf("Password should be at least %d characters.", p.minLength))
	}
	for _, set := range p.required {
		if !strings.ContainsAny(password, set) {
			reasons = append(reasons, "characters")
			messages = append(messages, "Password should contain at least one character of each: "+strings.Join(p.required, ", ")+".")
			break
		}
	}
	if len(reasons) > 0 {
		return weakPasswordError(strings.Join(messages, " "), reasons)
	}
	return nil
}
