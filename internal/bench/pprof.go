package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
)

// profile is a CPU profile reduced to what the storm report needs: for
// each sample, its CPU time, its stack of function names (leaf first,
// inlined frames included) and its "side" pprof label.
type profile struct {
	samples []sample
}

type sample struct {
	nanos int64
	stack []string
	side  string
}

// readProfile reads a pprof CPU profile (gzipped profile.proto) from path.
func readProfile(path string) (*profile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p, err := parseProfile(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// The profile.proto fields read (github.com/google/pprof/proto/profile.proto).
const (
	profSample   = 2
	profLocation = 4
	profFunction = 5
	profStrings  = 6

	sampleLocation = 1
	sampleValue    = 2
	sampleLabel    = 3
	labelKey       = 1
	labelStr       = 2
	locationID     = 1
	locationLine   = 4
	lineFunction   = 1
	functionID     = 1
	functionName   = 2
)

var errProfile = errors.New("malformed profile")

type rawSample struct {
	locs   []uint64
	values []int64
	labels [][2]int64 // key, str
}

// parseProfile decodes an uncompressed profile.proto message.
func parseProfile(b []byte) (*profile, error) {
	var (
		strs    []string
		raws    []rawSample
		locFns  = map[uint64][]uint64{} // location -> function IDs, leaf first
		fnNames = map[uint64]int64{}    // function -> string index
	)
	err := fields(b, func(num protowire.Number, v []byte, _ uint64) error {
		switch num {
		case profStrings:
			strs = append(strs, string(v))
		case profSample:
			var s rawSample
			err := fields(v, func(num protowire.Number, v []byte, x uint64) error {
				switch num {
				case sampleLocation:
					return varints(v, x, func(u uint64) { s.locs = append(s.locs, u) })
				case sampleValue:
					return varints(v, x, func(u uint64) { s.values = append(s.values, int64(u)) })
				case sampleLabel:
					var l [2]int64
					err := fields(v, func(num protowire.Number, _ []byte, x uint64) error {
						switch num {
						case labelKey:
							l[0] = int64(x)
						case labelStr:
							l[1] = int64(x)
						}
						return nil
					})
					s.labels = append(s.labels, l)
					return err
				}
				return nil
			})
			raws = append(raws, s)
			return err
		case profLocation:
			var id uint64
			var fns []uint64
			err := fields(v, func(num protowire.Number, v []byte, x uint64) error {
				switch num {
				case locationID:
					id = x
				case locationLine:
					return fields(v, func(num protowire.Number, _ []byte, x uint64) error {
						if num == lineFunction {
							fns = append(fns, x)
						}
						return nil
					})
				}
				return nil
			})
			locFns[id] = fns
			return err
		case profFunction:
			var id uint64
			var name int64
			err := fields(v, func(num protowire.Number, _ []byte, x uint64) error {
				switch num {
				case functionID:
					id = x
				case functionName:
					name = int64(x)
				}
				return nil
			})
			fnNames[id] = name
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	str := func(i int64) string {
		if i < 0 || int(i) >= len(strs) {
			return ""
		}
		return strs[i]
	}
	p := &profile{samples: make([]sample, 0, len(raws))}
	for _, r := range raws {
		if len(r.values) == 0 {
			return nil, errProfile
		}
		s := sample{nanos: r.values[len(r.values)-1]} // CPU profiles: [samples/count, cpu/nanoseconds]
		for _, l := range r.labels {
			if str(l[0]) == "side" {
				s.side = str(l[1])
			}
		}
		for _, loc := range r.locs {
			for _, fn := range locFns[loc] {
				s.stack = append(s.stack, str(fnNames[fn]))
			}
		}
		p.samples = append(p.samples, s)
	}
	return p, nil
}

// fields calls f for each field of message b: v holds a length-delimited
// field's bytes, x a varint field's value.
func fields(b []byte, f func(num protowire.Number, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errProfile
		}
		b = b[n:]
		var (
			v []byte
			x uint64
		)
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return errProfile
		}
		b = b[n:]
		if err := f(num, v, x); err != nil {
			return err
		}
	}
	return nil
}

// varints reads a repeated varint field in either encoding: packed (v
// set) or one value (x).
func varints(v []byte, x uint64, f func(uint64)) error {
	if v == nil {
		f(x)
		return nil
	}
	for len(v) > 0 {
		u, n := protowire.ConsumeVarint(v)
		if n < 0 {
			return errProfile
		}
		f(u)
		v = v[n:]
	}
	return nil
}
