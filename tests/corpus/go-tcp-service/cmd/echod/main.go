// Command echod is a line-echo server over raw TCP (no HTTP).
package main

import (
	"bufio"
	"log"
	"net"
	"os"
	"strings"
)

func handle(conn net.Conn) {
	defer conn.Close()
	scanner := bufio.NewScanner(conn)
	for scanner.Scan() {
		if _, err := conn.Write([]byte(reply(scanner.Text()) + "\n")); err != nil {
			return
		}
	}
}

func reply(line string) string { return strings.ToUpper(line) }

func main() {
	addr := os.Getenv("ECHOD_ADDR")
	if addr == "" {
		addr = ":7000"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	for {
		conn, err := ln.Accept()
		if err != nil {
			log.Print(err)
			continue
		}
		go handle(conn)
	}
}
