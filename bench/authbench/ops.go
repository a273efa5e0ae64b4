package authbench

import (
	"context"
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"github.com/goforward/goforward/bench/load"
)

// newOperations prepares the three measured operations: the bcrypt hash the baseline
// compares against, and one refresh-token chain per worker (refresh tokens rotate, so each
// worker must present the token its own previous refresh returned).
func newOperations(ctx context.Context, c *client, users []string, cfg Config) (map[string]load.Op, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(Password), cfg.BcryptCost)
	if err != nil {
		return nil, err
	}
	chains := make([]string, cfg.Concurrency)
	for w := range chains {
		s, err := c.signIn(ctx, users[w%len(users)])
		if err != nil {
			return nil, fmt.Errorf("start the refresh chain of worker %d: %w", w, err)
		}
		chains[w] = s.RefreshToken
	}
	signIns := make([]int, cfg.Concurrency)
	return map[string]load.Op{
		Bcrypt: func(context.Context, int) error {
			return bcrypt.CompareHashAndPassword(hash, []byte(Password))
		},
		SignIn: func(ctx context.Context, w int) error {
			// Worker w signs in as users w, w+Concurrency, w+2×Concurrency, ...: its own.
			user := users[(w+signIns[w]*cfg.Concurrency)%len(users)]
			signIns[w]++
			_, err := c.signIn(ctx, user)
			return err
		},
		Refresh: func(ctx context.Context, w int) error {
			// The end of a measurement must not cut a rotation short: the token would be
			// spent with its successor never received, and the chain would break.
			s, err := c.refresh(context.WithoutCancel(ctx), chains[w])
			if err != nil {
				return err
			}
			chains[w] = s.RefreshToken
			return nil
		},
	}, nil
}
