// Package sealing keeps sink secrets (a webhook's URL and HMAC secret, see
// events.SinkSecret) sealed at rest for every storage adapter: AES-256-GCM
// under a 32-byte secrets key, bound to the subscription's id, with the
// key given to the store or read from its key file (created 0600 on first
// use), and the key's check value that lets several instances on one
// database find out that they were given different keys.
//
// It owns the cryptography and the key file; the adapters (events/sqlite,
// events/postgres) own where the sealed bytes and the check are stored.
// It imports only the standard library and package events, and it never
// logs or returns a secret or the key in an error.
package sealing
