package main

import (
	"io"
	"log"
	"net/http"

	"example.org/platform/kvstore/store"
)

func main() {
	s := store.New()
	http.HandleFunc("/kv/", func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Path[len("/kv/"):]
		switch r.Method {
		case http.MethodPut:
			body, _ := io.ReadAll(r.Body)
			s.Put(key, string(body))
		default:
			if v, ok := s.Get(key); ok {
				_, _ = io.WriteString(w, v)
				return
			}
			http.NotFound(w, r)
		}
	})
	log.Fatal(http.ListenAndServe(":9000", nil))
}
