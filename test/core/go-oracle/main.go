// goracle: Go's own answers for the Go behaviours certgen reproduces in src/core (strconv.Quote,
// ParseInt/ParseUint/Atoi, net/url Parse+String, encoding/csv's first record as pflag reads a
// string-slice flag). One JSON request a line on stdin ({"op": …, "in": base64}), one JSON answer a
// line on stdout ({"out": base64} or {"err": text}).
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
)

type request struct {
	Op string `json:"op"`
	In string `json:"in"`
}

type answer struct {
	Out    string   `json:"out,omitempty"`
	Fields []string `json:"fields,omitempty"`
	Err    string   `json:"err,omitempty"`
	OK     bool     `json:"ok"`
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func run(op, s string) answer {
	switch op {
	case "quote":
		return answer{Out: b64(strconv.Quote(s)), OK: true}
	case "parseint0":
		v, err := strconv.ParseInt(s, 0, 64)
		if err != nil {
			return answer{Err: err.Error()}
		}
		return answer{Out: b64(strconv.FormatInt(v, 10)), OK: true}
	case "parseuint10":
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return answer{Err: err.Error()}
		}
		return answer{Out: b64(strconv.FormatUint(v, 10)), OK: true}
	case "atoi":
		v, err := strconv.Atoi(s)
		if err != nil {
			return answer{Err: err.Error()}
		}
		return answer{Out: b64(strconv.Itoa(v)), OK: true}
	case "url":
		u, err := url.Parse(s)
		if err != nil {
			return answer{Err: err.Error()}
		}
		return answer{Out: b64(u.String()), OK: true}
	case "pem":
		// Every block encoding/pem's Decode finds, in order: "TYPE:base64(DER)".
		fields := []string{}
		rest := []byte(s)
		for {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			fields = append(fields, b.Type+":"+base64.StdEncoding.EncodeToString(b.Bytes))
		}
		return answer{Fields: fields, OK: true}
	case "csv":
		// pflag's readAsCSV.
		if s == "" {
			return answer{Fields: []string{}, OK: true}
		}
		rec, err := csv.NewReader(strings.NewReader(s)).Read()
		if err != nil {
			return answer{Err: err.Error()}
		}
		fields := make([]string, len(rec))
		for i, f := range rec {
			fields[i] = b64(f)
		}
		return answer{Fields: fields, OK: true}
	}
	return answer{Err: "unknown op " + op}
}

func main() {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for sc.Scan() {
		var r request
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		in, err := base64.StdEncoding.DecodeString(r.In)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := enc.Encode(run(r.Op, string(in))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
