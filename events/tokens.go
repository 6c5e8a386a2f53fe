package events

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Stable type names of API token events, in "token-<id>" streams.
const (
	TypeTokenCreated = "token.created"
	TypeTokenRevoked = "token.revoked"

	tokenStreamPrefix = "token-"
	tokenSecretPrefix = "tw_"
)

// Token roles.
const (
	RoleViewer  = "viewer"  // read, when the instance is private
	RoleOfficer = "officer" // read and write: record, import, correct, add treaties
	RoleAdmin   = "admin"   // everything, and manage tokens
)

// Token is an API credential. Only a hash of its secret is stored.
type Token struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
	// Hash is the hex SHA-256 of the secret.
	Hash      string    `json:"hash"`
	CreatedAt time.Time `json:"created_at"`
	Revoked   bool      `json:"revoked,omitempty"`
}

// Allows reports whether the token's role includes another role.
func (t Token) Allows(role string) bool {
	rank := map[string]int{RoleViewer: 1, RoleOfficer: 2, RoleAdmin: 3}
	return rank[t.Role] >= rank[role] && rank[role] > 0
}

// TokenCreated records a new token.
type TokenCreated struct {
	Token Token `json:"token"`
}

// EventType returns TypeTokenCreated.
func (TokenCreated) EventType() string { return TypeTokenCreated }

// TokenRevoked records that a token no longer works.
type TokenRevoked struct {
	ID string `json:"id"`
}

// EventType returns TypeTokenRevoked.
func (TokenRevoked) EventType() string { return TypeTokenRevoked }

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateToken records a new token with a role and a name (the actor
// written in the metadata of what it records) and returns the secret,
// shown once: only its hash is kept.
func (l *Ledger) CreateToken(ctx context.Context, name, role string, meta Metadata) (string, Token, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", Token{}, &InvalidError{Field: "name", Reason: "a token needs a name (it is recorded as the actor)"}
	}
	if err := CheckText("name", name, NameText); err != nil {
		return "", Token{}, err
	}
	switch role {
	case RoleViewer, RoleOfficer, RoleAdmin:
	default:
		return "", Token{}, &InvalidError{Field: "role", Reason: fmt.Sprintf("unknown role %q (want viewer, officer or admin)", role)}
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", Token{}, err
	}
	secret := tokenSecretPrefix + hex.EncodeToString(b[:])
	t := Token{ID: l.cfg.NewID()[:12], Name: name, Role: role, Hash: hashSecret(secret), CreatedAt: l.cfg.Now().UTC()}
	if _, err := l.appendOne(ctx, tokenStreamPrefix+t.ID, 0, &TokenCreated{Token: t}, Date{}, l.meta(meta)); err != nil {
		return "", Token{}, err
	}
	return secret, t, nil
}

// RevokeToken records that a token no longer works.
func (l *Ledger) RevokeToken(ctx context.Context, id string, meta Metadata) error {
	evs, err := l.store.ReadStream(ctx, tokenStreamPrefix+id)
	if err != nil {
		return err
	}
	if len(evs) == 0 {
		return fmt.Errorf("no token %q: %w", id, ErrNotFound)
	}
	if evs[len(evs)-1].Type == TypeTokenRevoked {
		return &RefusedError{Participant: "token " + id, Reason: "is already revoked"}
	}
	_, err = l.appendOne(ctx, tokenStreamPrefix+id, evs[len(evs)-1].Version, &TokenRevoked{ID: id}, Date{}, l.meta(meta))
	return err
}

// Tokens returns every token (revoked ones marked), sorted by creation.
func (l *Ledger) Tokens(ctx context.Context) ([]Token, error) {
	streams, err := l.store.Streams(ctx, tokenStreamPrefix)
	if err != nil {
		return nil, err
	}
	var out []Token
	for _, st := range streams {
		evs, err := l.store.ReadStream(ctx, st)
		if err != nil {
			return nil, err
		}
		var t *Token
		for _, e := range evs {
			p, err := l.reg.Decode(e)
			if err != nil {
				return nil, err
			}
			switch v := p.(type) {
			case *TokenCreated:
				tok := v.Token
				t = &tok
			case *TokenRevoked:
				if t != nil {
					t.Revoked = true
				}
			}
		}
		if t != nil {
			out = append(out, *t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// VerifyToken returns the live token whose secret this is. Hashes are
// compared in constant time.
func (l *Ledger) VerifyToken(ctx context.Context, secret string) (Token, error) {
	if !strings.HasPrefix(secret, tokenSecretPrefix) {
		return Token{}, ErrUnauthorized
	}
	toks, err := l.Tokens(ctx)
	if err != nil {
		return Token{}, err
	}
	want := []byte(hashSecret(secret))
	var found *Token
	for i := range toks {
		if subtle.ConstantTimeCompare([]byte(toks[i].Hash), want) == 1 {
			found = &toks[i]
		}
	}
	if found == nil || found.Revoked {
		return Token{}, ErrUnauthorized
	}
	return *found, nil
}
