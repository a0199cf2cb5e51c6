// Command go-root-main prints the lines of its input in reverse order.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
)

func main() {
	number := flag.Bool("n", false, "number the lines")
	flag.Parse()
	var lines []string
	scanner := bufio.NewScanner(os.Stdin)
	for scanner.Scan() {
		lines = append(lines, scanner.Text())
	}
	for i, line := range reverse(lines) {
		if *number {
			fmt.Printf("%d\t", i+1)
		}
		fmt.Println(line)
	}
}
