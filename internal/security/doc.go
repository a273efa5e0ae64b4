// Package security holds the JWT machinery shared by every service: the HS256 secret, the
// Supabase-style anon and service-role keys derived from it, token verification, and the
// Principal (who is calling) that the gateway puts into each request's context.
package security
