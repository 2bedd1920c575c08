package dynamodb

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"
)

// Value is a DynamoDB AttributeValue
// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_AttributeValue.html).
type Value struct {
	T    string // S N B BOOL NULL M L SS NS BS
	S    string // S; N (canonical); B (raw bytes)
	Bool bool
	M    map[string]Value
	L    []Value
	Set  []string // SS; NS (canonical); BS (raw bytes)
}

// maxNumberDigits is DynamoDB's number precision (38 significant digits).
const maxNumberDigits = 38

// canonicalNumber validates a DynamoDB number and returns it without
// leading or trailing zeros ("01.50" -> "1.5"), as DynamoDB returns
// numbers. Magnitude limits: 1E-130 to 9.99…E+125.
func canonicalNumber(s string) (string, error) {
	bad := fmt.Errorf("A value provided cannot be converted into a number")
	str := strings.TrimSpace(s)
	if str == "" {
		return "", bad
	}
	neg := false
	switch str[0] {
	case '-':
		neg, str = true, str[1:]
	case '+':
		str = str[1:]
	}
	mant, exp := str, 0
	if i := strings.IndexAny(str, "eE"); i >= 0 {
		mant = str[:i]
		var e big.Int
		if _, ok := e.SetString(str[i+1:], 10); !ok || !e.IsInt64() || e.Int64() > 1000 || e.Int64() < -1000 {
			return "", bad
		}
		exp = int(e.Int64())
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	if intPart == "" && frac == "" {
		return "", bad
	}
	for _, c := range intPart + frac {
		if c < '0' || c > '9' {
			return "", bad
		}
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	exp -= len(frac)
	// value = digits × 10^exp
	trimmed := strings.TrimRight(digits, "0")
	exp += len(digits) - len(trimmed)
	digits = trimmed
	if digits == "" {
		return "0", nil
	}
	if len(digits) > maxNumberDigits {
		return "", fmt.Errorf("Attempting to store more than 38 significant digits in a Number")
	}
	mag := exp + len(digits) - 1 // exponent of the leading digit
	if mag > 125 {
		return "", fmt.Errorf("Number overflow. Attempting to store a number with magnitude larger than supported range")
	}
	if mag < -130 {
		return "", fmt.Errorf("Number underflow. Attempting to store a number with magnitude smaller than supported range")
	}
	var out string
	switch {
	case exp >= 0:
		out = digits + strings.Repeat("0", exp)
	case -exp < len(digits):
		out = digits[:len(digits)+exp] + "." + digits[len(digits)+exp:]
	default:
		out = "0." + strings.Repeat("0", -exp-len(digits)) + digits
	}
	if neg {
		out = "-" + out
	}
	return out, nil
}

func numRat(s string) *big.Rat {
	r, _ := new(big.Rat).SetString(s)
	return r
}

// decodeValue parses one AttributeValue; path names it in errors.
func decodeValue(raw json.RawMessage) (Value, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return Value{}, fmt.Errorf("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
	}
	if len(m) == 0 {
		return Value{}, fmt.Errorf("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
	}
	if len(m) > 1 {
		return Value{}, fmt.Errorf("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
	}
	for t, body := range m {
		v := Value{T: t}
		var err error
		switch t {
		case "S":
			err = json.Unmarshal(body, &v.S)
		case "N":
			var s string
			if err = json.Unmarshal(body, &s); err == nil {
				v.S, err = canonicalNumber(s)
			}
		case "B":
			v.S, err = decodeB(body)
		case "BOOL":
			err = json.Unmarshal(body, &v.Bool)
		case "NULL":
			var b bool
			if err = json.Unmarshal(body, &b); err == nil && !b {
				err = fmt.Errorf("One or more parameter values were invalid: Null attribute value types must have the value of true")
			}
		case "M":
			var mm map[string]json.RawMessage
			if err = json.Unmarshal(body, &mm); err == nil {
				v.M = make(map[string]Value, len(mm))
				for k, r := range mm {
					if v.M[k], err = decodeValue(r); err != nil {
						break
					}
				}
			}
		case "L":
			var ll []json.RawMessage
			if err = json.Unmarshal(body, &ll); err == nil {
				v.L = make([]Value, 0, len(ll))
				for _, r := range ll {
					var e Value
					if e, err = decodeValue(r); err != nil {
						break
					}
					v.L = append(v.L, e)
				}
			}
		case "SS", "NS", "BS":
			v.Set, err = decodeSet(t, body)
		default:
			err = fmt.Errorf("Supplied AttributeValue has an unknown datatype %q, must contain exactly one of the supported datatypes", t)
		}
		if err != nil {
			if _, ok := err.(*json.UnmarshalTypeError); ok {
				err = fmt.Errorf("Start of structure or map found where not expected")
			}
			return Value{}, err
		}
		return v, nil
	}
	panic("unreachable")
}

func decodeB(body json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(body, &s); err != nil {
		return "", err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("Invalid Base64 value in a binary attribute value")
	}
	return string(b), nil
}

func decodeSet(t string, body json.RawMessage) ([]string, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, err
	}
	kind := map[string]string{"SS": "string", "NS": "number", "BS": "binary"}[t]
	if len(raw) == 0 {
		return nil, fmt.Errorf("One or more parameter values were invalid: An %s set  may not be empty", kind)
	}
	out := make([]string, 0, len(raw))
	seen := map[string]bool{}
	for _, r := range raw {
		var s string
		var err error
		switch t {
		case "SS":
			err = json.Unmarshal(r, &s)
		case "NS":
			if err = json.Unmarshal(r, &s); err == nil {
				s, err = canonicalNumber(s)
			}
		case "BS":
			s, err = decodeB(r)
		}
		if err != nil {
			return nil, err
		}
		if seen[s] {
			return nil, fmt.Errorf("One or more parameter values were invalid: Input collection contains duplicates")
		}
		seen[s] = true
		out = append(out, s)
	}
	return out, nil
}

// MarshalJSON renders the AttributeValue wire shape.
func (v Value) MarshalJSON() ([]byte, error) {
	var body any
	switch v.T {
	case "S", "N":
		body = v.S
	case "B":
		body = base64.StdEncoding.EncodeToString([]byte(v.S))
	case "BOOL":
		body = v.Bool
	case "NULL":
		body = true
	case "M":
		body = v.M
		if v.M == nil {
			body = map[string]Value{}
		}
	case "L":
		body = v.L
		if v.L == nil {
			body = []Value{}
		}
	case "SS", "NS":
		body = v.Set
	case "BS":
		bs := make([]string, len(v.Set))
		for i, s := range v.Set {
			bs[i] = base64.StdEncoding.EncodeToString([]byte(s))
		}
		body = bs
	default:
		return nil, fmt.Errorf("attribute value without a type")
	}
	return json.Marshal(map[string]any{v.T: body})
}

// equal is DynamoDB's "=": same type and value (numbers numerically, sets
// as sets).
func equal(a, b Value) bool {
	if a.T != b.T {
		return false
	}
	switch a.T {
	case "S", "B":
		return a.S == b.S
	case "N":
		return numRat(a.S).Cmp(numRat(b.S)) == 0
	case "BOOL":
		return a.Bool == b.Bool
	case "NULL":
		return true
	case "M":
		if len(a.M) != len(b.M) {
			return false
		}
		for k, av := range a.M {
			bv, ok := b.M[k]
			if !ok || !equal(av, bv) {
				return false
			}
		}
		return true
	case "L":
		return slices.EqualFunc(a.L, b.L, equal)
	case "SS", "BS", "NS":
		if len(a.Set) != len(b.Set) {
			return false
		}
		as, bs := slices.Clone(a.Set), slices.Clone(b.Set)
		if a.T == "NS" {
			for i := range as {
				as[i], bs[i] = numRat(as[i]).RatString(), numRat(bs[i]).RatString()
			}
		}
		sort.Strings(as)
		sort.Strings(bs)
		return slices.Equal(as, bs)
	}
	return false
}

// compare orders two values of the same scalar type N, S or B; ok is false
// for any other pair (a comparison involving them is false).
func compare(a, b Value) (int, bool) {
	if a.T != b.T {
		return 0, false
	}
	switch a.T {
	case "N":
		return numRat(a.S).Cmp(numRat(b.S)), true
	case "S", "B":
		return bytes.Compare([]byte(a.S), []byte(b.S)), true
	}
	return 0, false
}

// size approximates DynamoDB's item size accounting
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
// names and values by their UTF-8/byte length, numbers by about one byte
// per two digits plus one.
func (v Value) size() int {
	switch v.T {
	case "S", "B":
		return len(v.S)
	case "N":
		return len(strings.TrimLeft(v.S, "-"))/2 + 1
	case "BOOL", "NULL":
		return 1
	case "M":
		n := 3
		for k, e := range v.M {
			n += len(k) + e.size() + 1
		}
		return n
	case "L":
		n := 3
		for _, e := range v.L {
			n += e.size() + 1
		}
		return n
	default:
		n := 0
		for _, s := range v.Set {
			if v.T == "NS" {
				n += len(s)/2 + 1
			} else {
				n += len(s)
			}
		}
		return n
	}
}

// Item is an item's attributes.
type Item map[string]Value

func (it Item) size() int {
	n := 0
	for k, v := range it {
		n += len(k) + v.size()
	}
	return n
}

func (it Item) clone() Item {
	if it == nil {
		return nil
	}
	out := make(Item, len(it))
	for k, v := range it {
		out[k] = v // values are never mutated in place
	}
	return out
}

func decodeItem(raw map[string]json.RawMessage) (Item, error) {
	it := make(Item, len(raw))
	for k, r := range raw {
		v, err := decodeValue(r)
		if err != nil {
			return nil, err
		}
		it[k] = v
	}
	return it, nil
}
