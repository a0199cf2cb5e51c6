// Package store is an in-memory key-value store safe for concurrent use.
package store

import "sync"

// Store maps keys to values.
type Store struct {
	mu sync.RWMutex
	m  map[string]string
}

// New returns an empty store.
func New() *Store { return &Store{m: map[string]string{}} }

// Put sets key to value.
func (s *Store) Put(key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = value
}

// Get returns the value of key and whether it was set.
func (s *Store) Get(key string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.m[key]
	return v, ok
}
