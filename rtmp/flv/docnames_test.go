package flv

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"testing"
)

// packageNames returns the package-level names declared in the .go files
// of dir, tests and examples included (types, functions, variables,
// constants, and Type.Method), with the files' comments.
func packageNames(t *testing.T, dir string) (map[string]bool, []*ast.CommentGroup) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("%s: %v, %d files", dir, err, len(paths))
	}
	names := map[string]bool{}
	var comments []*ast.CommentGroup
	fset := token.NewFileSet()
	for _, path := range paths {
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		comments = append(comments, f.Comments...)
		for _, d := range f.Decls {
			declNames(d, names)
		}
	}
	return names, comments
}

// declNames adds the names d declares to names.
func declNames(d ast.Decl, names map[string]bool) {
	switch d := d.(type) {
	case *ast.FuncDecl:
		names[d.Name.Name] = true
		if d.Recv == nil || len(d.Recv.List) != 1 {
			return
		}
		typ := d.Recv.List[0].Type
		if s, ok := typ.(*ast.StarExpr); ok {
			typ = s.X
		}
		if id, ok := typ.(*ast.Ident); ok {
			names[id.Name+"."+d.Name.Name] = true
		}
	case *ast.GenDecl:
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.TypeSpec:
				names[s.Name.Name] = true
			case *ast.ValueSpec:
				for _, n := range s.Names {
					names[n.Name] = true
				}
			}
		}
	}
}

// TestDocNames finds names in the comments of flv and amf0 (tests and
// examples included) that no longer exist: the names these declarations had
// in package rtmp before the split (the FLV- and AMF0-prefixed reader, tag,
// decoder and error names), any Err/New/Append/Decode/Parse name the
// package does not declare, and rtmp.X for a name that moved to flv or amf0.
func TestDocNames(t *testing.T) {
	dirs := map[string]string{"flv": ".", "amf0": "../amf0"}
	declared := map[string]map[string]bool{}
	comments := map[string][]*ast.CommentGroup{}
	for pkg, dir := range dirs {
		declared[pkg], comments[pkg] = packageNames(t, dir)
	}
	local := regexp.MustCompile(`(?:^|[^.\w])((?:Err|New|Append|Decode|Encode|Parse)[A-Z0-9]\w*|\w*(?:FLV|AMF0?)(?:Reader|Tag|Decoder|Encoder))\b`)
	qualified := regexp.MustCompile(`\b(rtmp|flv|amf0)\.([A-Z]\w*)`)
	for pkg, groups := range comments {
		for _, g := range groups {
			text := g.Text()
			for _, m := range local.FindAllStringSubmatch(text, -1) {
				if !declared[pkg][m[1]] {
					t.Errorf("%s: comment names %s, which %s does not declare: %q", pkg, m[1], pkg, text)
				}
			}
			for _, m := range qualified.FindAllStringSubmatch(text, -1) {
				switch q, name := m[1], m[2]; {
				case q == "rtmp" && (declared["flv"][name] || declared["amf0"][name]):
					t.Errorf("%s: comment names rtmp.%s, which moved out of rtmp: %q", pkg, name, text)
				case q != "rtmp" && !declared[q][name]:
					t.Errorf("%s: comment names %s.%s, which does not exist: %q", pkg, q, name, text)
				}
			}
		}
	}
}
