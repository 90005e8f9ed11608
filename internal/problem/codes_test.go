package problem

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// dynamicCodes are the code expressions the scan cannot (and need not)
// follow to their values, by file and expression as written. Each says
// where its codes come from; an entry no longer met fails the test, so the
// list cannot rot.
var dynamicCodes = map[string]string{
	// Mappers copying the codes of domain violations into field errors:
	// the Violation literals are scanned where they are written.
	"internal/listsapi/listsapi.go: v.Code":         "copies lists.Violation",
	"internal/httpapi/handlers_benefits.go: v.Code": "copies benefits.Violation",
	"internal/eligibilityapi/handlers.go: v.Code":   "copies means, eligibility and transactions Violations",
	"internal/httpapi/validate.go: se.SchemaField":  "the OpenAPI validator's schema keyword; schema.* entries cover the keywords the contract uses",
	"internal/httpapi/validate.go: v.Field":         "schemacheck.Violations' schema keyword, the same as the OpenAPI validator's",
}

// TestEveryEmittedCodeHasMessages scans the gateway's sources (internal/
// and cmd/, tests left out) for the codes put into field errors — the Code
// of a problem.FieldError or of a domain Violation that becomes one — and
// fails for a code the catalog lacks in either language: a Latvian client
// would be shown English. String constants, constants of other packages,
// concatenations, local variables, parameters of helper closures and
// functions (followed to their callers) and functions returning codes
// (followed to their returns) are all resolved; what still cannot be is
// listed in dynamicCodes. A field error carrying its own Latvian text
// (DetailLV) needs no catalog entry.
func TestEveryEmittedCodeHasMessages(t *testing.T) {
	root := moduleRoot(t)
	sc := newCodeScanner(t, root, "internal", "cmd")
	sites := sc.sites()
	if len(sites) < 40 {
		t.Fatalf("only %d field-error literals found: the scan is broken", len(sites))
	}
	seen := map[string]bool{}
	usedDynamic := map[string]bool{}
	codes := map[string]bool{}
	for _, s := range sites {
		vals, leaves := sc.eval(s.code, s.ctx, map[ast.Node]bool{})
		for _, v := range vals {
			codes[v] = true
			m, ok := messages[v]
			switch {
			case !ok:
				t.Errorf("%s: code %q has no catalog entry (internal/problem/messages.go)", s.pos, v)
			case m[0] == "" || m[1] == "":
				t.Errorf("%s: code %q lacks a language in the catalog", s.pos, v)
			}
		}
		for _, l := range leaves {
			key := l.file + ": " + l.expr
			if _, ok := dynamicCodes[key]; ok {
				usedDynamic[key] = true
				continue
			}
			if !seen[key] {
				t.Errorf("%s: cannot tell which codes %q holds; use a constant, or list it in dynamicCodes saying where its codes come from", l.pos, l.expr)
			}
			seen[key] = true
		}
	}
	for key := range dynamicCodes {
		if !usedDynamic[key] {
			t.Errorf("dynamicCodes lists %q, which the scan no longer meets: remove it", key)
		}
	}
	// The scan must see the codes this test was written for.
	for _, c := range []string{"date.order", "list.not_owner", "person_code.invalid_checksum", "ekk.cash_benefit", "parameter.required", "schema.invalid", "discount.extra_field"} {
		if !codes[c] {
			t.Errorf("the scan did not find %s: it is broken", c)
		}
	}
	if testing.Verbose() {
		list := make([]string, 0, len(codes))
		for c := range codes {
			list = append(list, c)
		}
		sort.Strings(list)
		t.Logf("%d codes: %s", len(list), strings.Join(list, " "))
	}
}

func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

// codeScanner resolves code expressions over the parsed, untyped sources.
type codeScanner struct {
	t      *testing.T
	fset   *token.FileSet
	module string
	pkgs   map[string]*srcPackage // by directory relative to the root
	files  []*srcFile
}

type srcPackage struct {
	dir     string
	files   []*srcFile
	consts  map[string]ast.Expr // package-level constants and variables
	funcs   map[string]*ast.FuncDecl
	structs map[string]*ast.StructType
}

type srcFile struct {
	pkg     *srcPackage
	rel     string
	ast     *ast.File
	src     []byte
	imports map[string]string // local name → package directory
}

// evalCtx is where an expression stands: its file and the path of nodes
// from the file down to it.
type evalCtx struct {
	file *srcFile
	path []ast.Node
}

type codeSite struct {
	pos  token.Position
	code ast.Expr
	ctx  evalCtx
}

type dynLeaf struct {
	pos  token.Position
	file string
	expr string
}

func newCodeScanner(t *testing.T, root string, dirs ...string) *codeScanner {
	sc := &codeScanner{t: t, fset: token.NewFileSet(), pkgs: map[string]*srcPackage{}}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mod), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			sc.module = strings.TrimSpace(rest)
		}
	}
	for _, d := range dirs {
		err := filepath.WalkDir(filepath.Join(root, d), func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() {
				if e.Name() == "testdata" || strings.HasPrefix(e.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			return sc.add(root, path)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return sc
}

func (sc *codeScanner) add(root, path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	f, err := parser.ParseFile(sc.fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		return err
	}
	rel, _ := filepath.Rel(root, path)
	rel = filepath.ToSlash(rel)
	dir := filepath.ToSlash(filepath.Dir(rel))
	p := sc.pkgs[dir]
	if p == nil {
		p = &srcPackage{dir: dir, consts: map[string]ast.Expr{}, funcs: map[string]*ast.FuncDecl{}, structs: map[string]*ast.StructType{}}
		sc.pkgs[dir] = p
	}
	sf := &srcFile{pkg: p, rel: rel, ast: f, src: src, imports: map[string]string{}}
	for _, imp := range f.Imports {
		ip, _ := strconv.Unquote(imp.Path.Value)
		rest, ok := strings.CutPrefix(ip, sc.module+"/")
		if !ok {
			continue
		}
		name := rest[strings.LastIndex(rest, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		sf.imports[name] = rest
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				p.funcs[d.Name.Name] = d
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.ValueSpec:
					for i, n := range s.Names {
						if i < len(s.Values) {
							p.consts[n.Name] = s.Values[i]
						}
					}
				case *ast.TypeSpec:
					if st, ok := s.Type.(*ast.StructType); ok {
						p.structs[s.Name.Name] = st
					}
				}
			}
		}
	}
	p.files = append(p.files, sf)
	sc.files = append(sc.files, sf)
	return nil
}

// walk calls fn with every node of f and the path to it (the node last).
func walk(f *ast.File, fn func(n ast.Node, path []ast.Node)) {
	var path []ast.Node
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			path = path[:len(path)-1]
			return false
		}
		path = append(path, n)
		fn(n, path)
		return true
	})
}

func clonePath(p []ast.Node) []ast.Node { return append([]ast.Node(nil), p...) }

// codeStruct tells whether a composite literal's type is one whose Code
// ends up in a problem's errors: problem.FieldError or a Violation.
func (sc *codeScanner) codeStruct(f *srcFile, typ ast.Expr) *ast.StructType {
	var dir, name string
	switch x := typ.(type) {
	case *ast.Ident:
		dir, name = f.pkg.dir, x.Name
	case *ast.SelectorExpr:
		id, ok := x.X.(*ast.Ident)
		if !ok {
			return nil
		}
		dir, name = f.imports[id.Name], x.Sel.Name
	default:
		return nil
	}
	if !(name == "Violation" || name == "FieldError" && dir == "internal/problem") {
		return nil
	}
	if p := sc.pkgs[dir]; p != nil {
		return p.structs[name]
	}
	return nil
}

// sites finds the Code of every field-error literal.
func (sc *codeScanner) sites() []codeSite {
	var out []codeSite
	for _, f := range sc.files {
		elided := map[*ast.CompositeLit]ast.Expr{}
		walk(f.ast, func(n ast.Node, path []ast.Node) {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return
			}
			typ := lit.Type
			if typ == nil {
				typ = elided[lit]
			}
			// Element types left out in a slice literal: []Violation{{...}}.
			if at, ok := typ.(*ast.ArrayType); ok {
				elt := at.Elt
				if st, ok := elt.(*ast.StarExpr); ok {
					elt = st.X
				}
				for _, e := range lit.Elts {
					if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.AND {
						e = u.X
					}
					if c, ok := e.(*ast.CompositeLit); ok && c.Type == nil {
						elided[c] = elt
					}
				}
			}
			st := sc.codeStruct(f, typ)
			if st == nil {
				return
			}
			code, ownLatvian := codeField(lit, st)
			if code == nil || ownLatvian {
				return
			}
			out = append(out, codeSite{pos: sc.fset.Position(code.Pos()), code: code, ctx: evalCtx{file: f, path: clonePath(path)}})
		})
	}
	return out
}

// codeField returns the Code of a literal, keyed or positional, and whether
// the literal carries its own Latvian text (DetailLV).
func codeField(lit *ast.CompositeLit, st *ast.StructType) (ast.Expr, bool) {
	var code ast.Expr
	own := false
	idx := -1
	i := 0
	for _, fld := range st.Fields.List {
		for _, n := range fld.Names {
			if n.Name == "Code" {
				idx = i
			}
			i++
		}
	}
	for j, e := range lit.Elts {
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			if k, ok := kv.Key.(*ast.Ident); ok {
				switch k.Name {
				case "Code":
					code = kv.Value
				case "DetailLV":
					own = true
				}
			}
		} else if j == idx {
			code = e
		}
	}
	return code, own
}

// eval returns the codes expr may hold, and the sub-expressions it could
// not follow.
func (sc *codeScanner) eval(expr ast.Expr, ctx evalCtx, busy map[ast.Node]bool) ([]string, []dynLeaf) {
	if busy[expr] {
		return nil, nil
	}
	busy[expr] = true
	defer delete(busy, expr)
	switch x := expr.(type) {
	case *ast.BasicLit:
		if x.Kind == token.STRING {
			if s, err := strconv.Unquote(x.Value); err == nil {
				return []string{s}, nil
			}
		}
	case *ast.ParenExpr:
		return sc.eval(x.X, ctx, busy)
	case *ast.BinaryExpr:
		if x.Op == token.ADD {
			l, ll := sc.eval(x.X, ctx, busy)
			r, rl := sc.eval(x.Y, ctx, busy)
			var out []string
			for _, a := range l {
				for _, b := range r {
					out = append(out, a+b)
				}
			}
			return out, append(ll, rl...)
		}
	case *ast.Ident:
		if vals, leaves, ok := sc.evalLocal(x, ctx, busy); ok {
			return vals, leaves
		}
		if v, ok := ctx.file.pkg.consts[x.Name]; ok {
			return sc.eval(v, sc.declCtx(ctx.file.pkg, v), busy)
		}
	case *ast.SelectorExpr:
		if id, ok := x.X.(*ast.Ident); ok {
			if p := sc.pkgs[ctx.file.imports[id.Name]]; p != nil {
				if v, ok := p.consts[x.Sel.Name]; ok {
					return sc.eval(v, sc.declCtx(p, v), busy)
				}
			}
		}
	case *ast.CallExpr:
		if fn, p := sc.callee(x, ctx.file); fn != nil {
			return sc.returns(fn, p, 0, busy)
		}
	}
	return nil, []dynLeaf{sc.leaf(expr, ctx)}
}

func (sc *codeScanner) leaf(expr ast.Expr, ctx evalCtx) dynLeaf {
	start, end := sc.fset.Position(expr.Pos()), sc.fset.Position(expr.End())
	return dynLeaf{pos: start, file: ctx.file.rel, expr: string(ctx.file.src[start.Offset:end.Offset])}
}

// declCtx is the context of a package-level declaration's value.
func (sc *codeScanner) declCtx(p *srcPackage, v ast.Expr) evalCtx {
	for _, f := range p.files {
		if f.ast.Pos() <= v.Pos() && v.End() <= f.ast.End() {
			var path []ast.Node
			walk(f.ast, func(n ast.Node, pp []ast.Node) {
				if n == v {
					path = clonePath(pp)
				}
			})
			return evalCtx{file: f, path: path}
		}
	}
	return evalCtx{file: p.files[0]}
}

// evalLocal resolves an identifier declared inside the functions enclosing
// it: a parameter (followed to the calls) or a variable (followed to its
// assignments). ok is false when it is not local.
func (sc *codeScanner) evalLocal(id *ast.Ident, ctx evalCtx, busy map[ast.Node]bool) (vals []string, leaves []dynLeaf, ok bool) {
	for i := len(ctx.path) - 1; i >= 0; i-- {
		var ftype *ast.FuncType
		var body *ast.BlockStmt
		switch fn := ctx.path[i].(type) {
		case *ast.FuncLit:
			ftype, body = fn.Type, fn.Body
		case *ast.FuncDecl:
			ftype, body = fn.Type, fn.Body
		default:
			continue
		}
		if idx := paramIndex(ftype, id.Name); idx >= 0 {
			v, l := sc.callers(id, ctx, i, idx, busy)
			return v, l, true
		}
		found := false
		walk(ctx.file.ast, func(n ast.Node, path []ast.Node) {
			if len(path) <= i || path[i] != ctx.path[i] || body == nil {
				return
			}
			switch s := n.(type) {
			case *ast.AssignStmt:
				for k, lhs := range s.Lhs {
					if l, ok := lhs.(*ast.Ident); !ok || l.Name != id.Name {
						continue
					}
					found = true
					at := evalCtx{file: ctx.file, path: clonePath(path)}
					if len(s.Rhs) == len(s.Lhs) {
						v, lv := sc.eval(s.Rhs[k], at, busy)
						vals, leaves = append(vals, v...), append(leaves, lv...)
					} else if call, ok := s.Rhs[0].(*ast.CallExpr); ok {
						if fn, p := sc.callee(call, ctx.file); fn != nil {
							v, lv := sc.returns(fn, p, k, busy)
							vals, leaves = append(vals, v...), append(leaves, lv...)
						} else {
							leaves = append(leaves, sc.leaf(call, at))
						}
					} else {
						leaves = append(leaves, sc.leaf(s.Rhs[0], at))
					}
				}
			case *ast.ValueSpec:
				for k, n := range s.Names {
					if n.Name == id.Name && k < len(s.Values) {
						found = true
						v, lv := sc.eval(s.Values[k], evalCtx{file: ctx.file, path: clonePath(path)}, busy)
						vals, leaves = append(vals, v...), append(leaves, lv...)
					}
				}
			case *ast.RangeStmt:
				for _, e := range []ast.Expr{s.Key, s.Value} {
					if l, ok := e.(*ast.Ident); ok && l.Name == id.Name {
						found = true
						leaves = append(leaves, sc.leaf(l, ctx))
					}
				}
			}
		})
		if found {
			return vals, leaves, true
		}
	}
	return nil, nil, false
}

func paramIndex(ft *ast.FuncType, name string) int {
	i := 0
	for _, f := range ft.Params.List {
		for _, n := range f.Names {
			if n.Name == name {
				return i
			}
			i++
		}
		if len(f.Names) == 0 {
			i++
		}
	}
	return -1
}

// callers evaluates argument idx of every call of the function at
// ctx.path[fnAt]: a closure bound to a name is called in its enclosing
// function, a package function anywhere.
func (sc *codeScanner) callers(param *ast.Ident, ctx evalCtx, fnAt, idx int, busy map[ast.Node]bool) ([]string, []dynLeaf) {
	var vals []string
	var leaves []dynLeaf
	calls := 0
	collect := func(f *srcFile, call *ast.CallExpr, path []ast.Node) {
		calls++
		if idx >= len(call.Args) {
			return
		}
		v, l := sc.eval(call.Args[idx], evalCtx{file: f, path: clonePath(path)}, busy)
		vals, leaves = append(vals, v...), append(leaves, l...)
	}
	switch fn := ctx.path[fnAt].(type) {
	case *ast.FuncLit:
		var name string
		if fnAt > 0 {
			if as, ok := ctx.path[fnAt-1].(*ast.AssignStmt); ok && len(as.Lhs) == len(as.Rhs) {
				for k, r := range as.Rhs {
					if r == fn {
						if l, ok := as.Lhs[k].(*ast.Ident); ok {
							name = l.Name
						}
					}
				}
			}
		}
		outer := -1
		for j := fnAt - 1; j >= 0; j-- {
			if _, ok := ctx.path[j].(*ast.FuncDecl); ok {
				outer = j
				break
			}
			if _, ok := ctx.path[j].(*ast.FuncLit); ok {
				outer = j
				break
			}
		}
		if name != "" && outer >= 0 {
			walk(ctx.file.ast, func(n ast.Node, path []ast.Node) {
				if call, ok := n.(*ast.CallExpr); ok && len(path) > outer && path[outer] == ctx.path[outer] {
					if c, ok := call.Fun.(*ast.Ident); ok && c.Name == name {
						collect(ctx.file, call, path)
					}
				}
			})
		}
	case *ast.FuncDecl:
		if fn.Recv == nil {
			for _, f := range sc.files {
				walk(f.ast, func(n ast.Node, path []ast.Node) {
					call, ok := n.(*ast.CallExpr)
					if !ok {
						return
					}
					if target, _ := sc.callee(call, f); target == fn {
						collect(f, call, path)
					}
				})
			}
		}
	}
	if calls == 0 {
		return nil, []dynLeaf{sc.leaf(param, ctx)}
	}
	return vals, leaves
}

// callee finds the declaration of a function called by name in the
// scanned packages.
func (sc *codeScanner) callee(call *ast.CallExpr, f *srcFile) (*ast.FuncDecl, *srcPackage) {
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		if d, ok := f.pkg.funcs[fn.Name]; ok {
			return d, f.pkg
		}
	case *ast.SelectorExpr:
		if id, ok := fn.X.(*ast.Ident); ok {
			if p := sc.pkgs[f.imports[id.Name]]; p != nil {
				if d, ok := p.funcs[fn.Sel.Name]; ok {
					return d, p
				}
			}
		}
	}
	return nil, nil
}

// returns evaluates result idx of every return statement of fn.
func (sc *codeScanner) returns(fn *ast.FuncDecl, p *srcPackage, idx int, busy map[ast.Node]bool) ([]string, []dynLeaf) {
	if busy[fn] || fn.Body == nil {
		return nil, nil
	}
	busy[fn] = true
	defer delete(busy, fn)
	var f *srcFile
	for _, pf := range p.files {
		if pf.ast.Pos() <= fn.Pos() && fn.End() <= pf.ast.End() {
			f = pf
		}
	}
	var vals []string
	var leaves []dynLeaf
	walk(f.ast, func(n ast.Node, path []ast.Node) {
		ret, ok := n.(*ast.ReturnStmt)
		if !ok || idx >= len(ret.Results) || len(path) < 2 || path[1] != fn {
			return
		}
		for _, anc := range path[2:] {
			if _, ok := anc.(*ast.FuncLit); ok {
				return // a closure's return, not fn's
			}
		}
		v, l := sc.eval(ret.Results[idx], evalCtx{file: f, path: clonePath(path)}, busy)
		vals, leaves = append(vals, v...), append(leaves, l...)
	})
	return vals, leaves
}
