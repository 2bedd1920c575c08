package dynamodb

import (
	_ "embed"
	"fmt"
	"math/big"
	"strings"
)

// Expressions (condition and update) as documented in
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html
// and https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html.
//
// Modelled: top-level attribute paths (a name or a #placeholder), :values,
// comparators = <> < <= > >=, BETWEEN, IN, AND, OR, NOT, parentheses,
// attribute_exists, attribute_not_exists, attribute_type, begins_with,
// contains, size; update clauses SET (value, a + b, a - b, if_not_exists),
// REMOVE, ADD and DELETE. Nested paths (a.b, a[0]) and list_append are
// refused with a ValidationException that says awssim does not model them.

//go:embed reserved_words.txt
var reservedWordsText string

// reserved is DynamoDB's reserved word list
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ReservedWords.html).
var reserved = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(reservedWordsText) {
		m[w] = true
	}
	return m
}()

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tName  // #placeholder
	tValue // :placeholder
	tNum   // list index digits
	tOp    // = <> < <= > >= ( ) , . [ ] + -
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func lex(s string) ([]token, error) {
	var out []token
	i := 0
	isWord := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#' || c == ':':
			j := i + 1
			for j < len(s) && isWord(s[j]) {
				j++
			}
			if j == i+1 {
				return nil, fmt.Errorf("Syntax error; token: %q, near: %q", string(c), near(s, i))
			}
			k := tName
			if c == ':' {
				k = tValue
			}
			out = append(out, token{k, s[i:j], i})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			out = append(out, token{tNum, s[i:j], i})
			i = j
		case isWord(c):
			j := i
			for j < len(s) && isWord(s[j]) {
				j++
			}
			out = append(out, token{tIdent, s[i:j], i})
			i = j
		case c == '<' || c == '>':
			if i+1 < len(s) && (s[i+1] == '=' || (c == '<' && s[i+1] == '>')) {
				out = append(out, token{tOp, s[i : i+2], i})
				i += 2
			} else {
				out = append(out, token{tOp, s[i : i+1], i})
				i++
			}
		case strings.IndexByte("=(),.[]+-", c) >= 0:
			out = append(out, token{tOp, s[i : i+1], i})
			i++
		default:
			return nil, fmt.Errorf("Invalid character encountered; character: %q, near: %q", string(c), near(s, i))
		}
	}
	return append(out, token{tEOF, "", len(s)}), nil
}

func near(s string, i int) string {
	end := min(len(s), i+10)
	return s[i:end]
}

// exprCtx resolves placeholders and records which were used.
type exprCtx struct {
	names     map[string]string
	values    map[string]Value
	usedNames map[string]bool
	usedVals  map[string]bool
	kind      string // "ConditionExpression", "UpdateExpression"
}

func (c *exprCtx) errf(format string, a ...any) error {
	return fmt.Errorf("Invalid %s: "+format, append([]any{c.kind}, a...)...)
}

type parser struct {
	toks []token
	i    int
	src  string
	ctx  *exprCtx
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *parser) isKeyword(w string) bool {
	t := p.peek()
	return t.kind == tIdent && strings.EqualFold(t.text, w)
}

func (p *parser) isOp(op string) bool {
	t := p.peek()
	return t.kind == tOp && t.text == op
}

func (p *parser) syntax(t token) error {
	if t.kind == tEOF {
		return p.ctx.errf("Syntax error; token: <EOF>, near: %q", near(p.src, max(0, len(p.src)-10)))
	}
	return p.ctx.errf("Syntax error; token: %q, near: %q", t.text, near(p.src, t.pos))
}

func (p *parser) expectOp(op string) error {
	if t := p.next(); t.kind != tOp || t.text != op {
		return p.syntax(t)
	}
	return nil
}

// path is a top-level attribute name.
func (p *parser) path() (string, error) {
	t := p.next()
	var name string
	switch t.kind {
	case tName:
		n, ok := p.ctx.names[t.text]
		if !ok {
			return "", p.ctx.errf("An expression attribute name used in the document path is not defined; attribute name: %s", t.text)
		}
		p.ctx.usedNames[t.text] = true
		name = n
	case tIdent:
		if reserved[strings.ToUpper(t.text)] {
			return "", p.ctx.errf("Attribute name is a reserved keyword; reserved keyword: %s", t.text)
		}
		name = t.text
	default:
		return "", p.syntax(t)
	}
	if p.isOp(".") || p.isOp("[") {
		return "", p.ctx.errf("awssim models top-level attribute paths only, not %q", near(p.src, t.pos))
	}
	return name, nil
}

func (p *parser) value() (Value, error) {
	t := p.next()
	if t.kind != tValue {
		return Value{}, p.syntax(t)
	}
	v, ok := p.ctx.values[t.text]
	if !ok {
		return Value{}, p.ctx.errf("An expression attribute value used in expression is not defined; attribute value: %s", t.text)
	}
	p.ctx.usedVals[t.text] = true
	return v, nil
}

// operand is a path, a :value or size(path).
type operand struct {
	path  string
	val   *Value
	size  bool // size(path)
	fname string
}

func (o operand) eval(it Item) (Value, bool) {
	if o.val != nil {
		return *o.val, true
	}
	v, ok := it[o.path]
	if !ok {
		return Value{}, false
	}
	if o.size {
		var n int
		switch v.T {
		case "S", "B":
			n = len(v.S)
		case "M":
			n = len(v.M)
		case "L":
			n = len(v.L)
		case "SS", "NS", "BS":
			n = len(v.Set)
		default:
			return Value{}, false
		}
		return Value{T: "N", S: fmt.Sprint(n)}, true
	}
	return v, true
}

func (p *parser) operand() (operand, error) {
	t := p.peek()
	switch {
	case t.kind == tValue:
		v, err := p.value()
		return operand{val: &v}, err
	case t.kind == tIdent && t.text == "size" && p.toks[p.i+1].kind == tOp && p.toks[p.i+1].text == "(":
		p.i += 2
		path, err := p.path()
		if err != nil {
			return operand{}, err
		}
		return operand{path: path, size: true}, p.expectOp(")")
	default:
		path, err := p.path()
		return operand{path: path}, err
	}
}

// cond is a parsed condition.
type cond func(it Item) bool

func parseCondition(src string, ctx *exprCtx) (cond, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, ctx.errf("%v", err)
	}
	p := &parser{toks: toks, src: src, ctx: ctx}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.syntax(t)
	}
	return c, nil
}

func (p *parser) or() (cond, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("OR") {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		a, b := l, r
		l = func(it Item) bool { return a(it) || b(it) }
	}
	return l, nil
}

func (p *parser) and() (cond, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("AND") {
		p.next()
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		a, b := l, r
		l = func(it Item) bool { return a(it) && b(it) }
	}
	return l, nil
}

func (p *parser) not() (cond, error) {
	if p.isKeyword("NOT") {
		p.next()
		c, err := p.not()
		if err != nil {
			return nil, err
		}
		return func(it Item) bool { return !c(it) }, nil
	}
	return p.primary()
}

var comparators = map[string]bool{"=": true, "<>": true, "<": true, "<=": true, ">": true, ">=": true}

var functions = map[string]bool{
	"attribute_exists": true, "attribute_not_exists": true, "attribute_type": true,
	"begins_with": true, "contains": true,
}

func (p *parser) primary() (cond, error) {
	if p.isOp("(") {
		p.next()
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		return c, p.expectOp(")")
	}
	t := p.peek()
	if t.kind == tIdent && functions[t.text] && p.toks[p.i+1].kind == tOp && p.toks[p.i+1].text == "(" {
		p.i += 2
		return p.function(t.text)
	}
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	op := p.next()
	switch {
	case op.kind == tOp && comparators[op.text]:
		r, err := p.operand()
		if err != nil {
			return nil, err
		}
		return comparison(op.text, l, r), nil
	case op.kind == tIdent && strings.EqualFold(op.text, "BETWEEN"):
		lo, err := p.operand()
		if err != nil {
			return nil, err
		}
		if !p.isKeyword("AND") {
			return nil, p.syntax(p.peek())
		}
		p.next()
		hi, err := p.operand()
		if err != nil {
			return nil, err
		}
		ge, le := comparison(">=", l, lo), comparison("<=", l, hi)
		return func(it Item) bool { return ge(it) && le(it) }, nil
	case op.kind == tIdent && strings.EqualFold(op.text, "IN"):
		if err := p.expectOp("("); err != nil {
			return nil, err
		}
		var set []operand
		for {
			o, err := p.operand()
			if err != nil {
				return nil, err
			}
			set = append(set, o)
			if p.isOp(",") {
				p.next()
				continue
			}
			break
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return func(it Item) bool {
			for _, o := range set {
				if comparison("=", l, o)(it) {
					return true
				}
			}
			return false
		}, nil
	}
	return nil, p.syntax(op)
}

func comparison(op string, l, r operand) cond {
	return func(it Item) bool {
		a, ok1 := l.eval(it)
		b, ok2 := r.eval(it)
		if !ok1 || !ok2 {
			return false
		}
		switch op {
		case "=":
			return equal(a, b)
		case "<>":
			return !equal(a, b)
		}
		c, ok := compare(a, b)
		if !ok {
			return false
		}
		switch op {
		case "<":
			return c < 0
		case "<=":
			return c <= 0
		case ">":
			return c > 0
		default:
			return c >= 0
		}
	}
}

func (p *parser) function(name string) (cond, error) {
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	var arg operand
	if name != "attribute_exists" && name != "attribute_not_exists" {
		if err := p.expectOp(","); err != nil {
			return nil, err
		}
		if arg, err = p.operand(); err != nil {
			return nil, err
		}
	}
	if err := p.expectOp(")"); err != nil {
		return nil, err
	}
	switch name {
	case "attribute_exists":
		return func(it Item) bool { _, ok := it[path]; return ok }, nil
	case "attribute_not_exists":
		return func(it Item) bool { _, ok := it[path]; return !ok }, nil
	case "attribute_type":
		return func(it Item) bool {
			v, ok := it[path]
			t, ok2 := arg.eval(it)
			return ok && ok2 && t.T == "S" && v.T == t.S
		}, nil
	case "begins_with":
		return func(it Item) bool {
			v, ok := it[path]
			pre, ok2 := arg.eval(it)
			return ok && ok2 && v.T == pre.T && (v.T == "S" || v.T == "B") && strings.HasPrefix(v.S, pre.S)
		}, nil
	default: // contains
		return func(it Item) bool {
			v, ok := it[path]
			x, ok2 := arg.eval(it)
			if !ok || !ok2 {
				return false
			}
			switch v.T {
			case "S", "B":
				return x.T == v.T && strings.Contains(v.S, x.S)
			case "SS", "NS", "BS":
				if x.T != v.T[:1] {
					return false
				}
				for _, e := range v.Set {
					if equal(Value{T: x.T, S: e}, x) {
						return true
					}
				}
			case "L":
				for _, e := range v.L {
					if equal(e, x) {
						return true
					}
				}
			}
			return false
		}, nil
	}
}

// update is a parsed update expression: actions in order of appearance.
type update struct {
	actions []action
}

type action struct {
	clause string // SET REMOVE ADD DELETE
	path   string
	// SET: l [op r] or if_not_exists(ifPath, r)
	l, r      operand
	op        string // "", "+", "-"
	ifNotPath string
	val       Value // ADD, DELETE
}

func parseUpdate(src string, ctx *exprCtx) (*update, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, ctx.errf("%v", err)
	}
	p := &parser{toks: toks, src: src, ctx: ctx}
	u := &update{}
	seen := map[string]bool{}
	paths := map[string]bool{}
	if p.peek().kind == tEOF {
		return nil, p.syntax(p.peek())
	}
	for p.peek().kind != tEOF {
		t := p.next()
		clause := strings.ToUpper(t.text)
		if t.kind != tIdent || (clause != "SET" && clause != "REMOVE" && clause != "ADD" && clause != "DELETE") {
			return nil, p.syntax(t)
		}
		if seen[clause] {
			return nil, ctx.errf("The %q section can only be used once in an update expression;", clause)
		}
		seen[clause] = true
		for {
			a := action{clause: clause}
			if a.path, err = p.path(); err != nil {
				return nil, err
			}
			if paths[a.path] {
				return nil, ctx.errf("Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [%s], path two: [%s]", a.path, a.path)
			}
			paths[a.path] = true
			switch clause {
			case "SET":
				if err := p.expectOp("="); err != nil {
					return nil, err
				}
				if err := p.setValue(&a); err != nil {
					return nil, err
				}
			case "ADD", "DELETE":
				if a.val, err = p.value(); err != nil {
					return nil, err
				}
				if clause == "ADD" && a.val.T != "N" && a.val.T != "SS" && a.val.T != "NS" && a.val.T != "BS" {
					return nil, ctx.errf("Incorrect operand type for operator or function; operator: ADD, operand type: %s", typeName(a.val.T))
				}
				if clause == "DELETE" && a.val.T != "SS" && a.val.T != "NS" && a.val.T != "BS" {
					return nil, ctx.errf("Incorrect operand type for operator or function; operator: DELETE, operand type: %s", typeName(a.val.T))
				}
			}
			u.actions = append(u.actions, a)
			if !p.isOp(",") {
				break
			}
			p.next()
		}
	}
	return u, nil
}

func typeName(t string) string {
	return map[string]string{"S": "STRING", "N": "NUMBER", "B": "BINARY", "BOOL": "BOOLEAN", "NULL": "NULL",
		"M": "MAP", "L": "LIST", "SS": "STRING SET", "NS": "NUMBER SET", "BS": "BINARY SET"}[t]
}

func (p *parser) setValue(a *action) error {
	t := p.peek()
	if t.kind == tIdent && p.toks[p.i+1].kind == tOp && p.toks[p.i+1].text == "(" {
		switch t.text {
		case "if_not_exists":
			p.i += 2
			path, err := p.path()
			if err != nil {
				return err
			}
			if err := p.expectOp(","); err != nil {
				return err
			}
			if a.r, err = p.operand(); err != nil {
				return err
			}
			a.ifNotPath = path
			return p.expectOp(")")
		default:
			return p.ctx.errf("awssim does not model the update function %s", t.text)
		}
	}
	var err error
	if a.l, err = p.operand(); err != nil {
		return err
	}
	if a.l.size {
		return p.ctx.errf("The function is not allowed in an update expression; function: size")
	}
	if p.isOp("+") || p.isOp("-") {
		a.op = p.next().text
		if a.r, err = p.operand(); err != nil {
			return err
		}
	}
	return nil
}

// apply returns the updated item; old is not modified.
func (u *update) apply(old Item) (Item, error) {
	it := old.clone()
	if it == nil {
		it = Item{}
	}
	for _, a := range u.actions {
		switch a.clause {
		case "SET":
			var v Value
			switch {
			case a.ifNotPath != "":
				if cur, ok := old[a.ifNotPath]; ok {
					v = cur
				} else {
					r, ok := a.r.eval(old)
					if !ok {
						return nil, errMissingOperand
					}
					v = r
				}
			case a.op != "":
				l, ok1 := a.l.eval(old)
				r, ok2 := a.r.eval(old)
				if !ok1 || !ok2 {
					return nil, errMissingOperand
				}
				if l.T != "N" || r.T != "N" {
					return nil, fmt.Errorf("An operand in the update expression has an incorrect data type")
				}
				x, y := numRat(l.S), numRat(r.S)
				if a.op == "+" {
					x.Add(x, y)
				} else {
					x.Sub(x, y)
				}
				n, err := ratNumber(x)
				if err != nil {
					return nil, err
				}
				v = Value{T: "N", S: n}
			default:
				l, ok := a.l.eval(old)
				if !ok {
					return nil, errMissingOperand
				}
				v = l
			}
			it[a.path] = v
		case "REMOVE":
			delete(it, a.path)
		case "ADD":
			cur, ok := old[a.path]
			switch {
			case !ok:
				it[a.path] = a.val
			case cur.T != a.val.T:
				return nil, fmt.Errorf("An operand in the update expression has an incorrect data type")
			case cur.T == "N":
				x := numRat(cur.S)
				x.Add(x, numRat(a.val.S))
				n, err := ratNumber(x)
				if err != nil {
					return nil, err
				}
				it[a.path] = Value{T: "N", S: n}
			default:
				set := append([]string(nil), cur.Set...)
				for _, e := range a.val.Set {
					if !containsSet(cur.T, set, e) {
						set = append(set, e)
					}
				}
				it[a.path] = Value{T: cur.T, Set: set}
			}
		case "DELETE":
			cur, ok := old[a.path]
			if !ok {
				continue
			}
			if cur.T != a.val.T {
				return nil, fmt.Errorf("An operand in the update expression has an incorrect data type")
			}
			var set []string
			for _, e := range cur.Set {
				if !containsSet(cur.T, a.val.Set, e) {
					set = append(set, e)
				}
			}
			if len(set) == 0 {
				delete(it, a.path)
			} else {
				it[a.path] = Value{T: cur.T, Set: set}
			}
		}
	}
	return it, nil
}

var errMissingOperand = fmt.Errorf("The provided expression refers to an attribute that does not exist in the item")

func containsSet(t string, set []string, e string) bool {
	for _, s := range set {
		if equal(Value{T: t[:1], S: s}, Value{T: t[:1], S: e}) {
			return true
		}
	}
	return false
}

// ratNumber renders an arithmetic result as a DynamoDB number.
func ratNumber(r *big.Rat) (string, error) {
	s := r.FloatString(130)
	return canonicalNumber(s)
}
