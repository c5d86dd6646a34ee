package shim

import (
	"bufio"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// configTable is the README section whose first table documents ConfigNames.
const configTable = "## Configuration"

// readmeConfigNames reads the configuration table of the README: the name
// is the first cell's code span (a flag written -name), the kind the
// second cell.
func readmeConfigNames(t *testing.T, path string) []ConfigName {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []ConfigName
	inSection, inTable := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#"):
			if inSection && inTable {
				return names
			}
			inSection = line == configTable
		case !inSection:
		case strings.HasPrefix(line, "|"):
			inTable = true
			cells := strings.Split(strings.Trim(line, "|"), "|")
			name := strings.TrimSpace(cells[0])
			if len(cells) < 2 || name == "name" || strings.HasPrefix(name, "---") {
				continue
			}
			n, ok := strings.CutPrefix(name, "`")
			if n, ok = strings.CutSuffix(n, "`"); !ok || strings.Contains(n, "`") {
				t.Errorf("README configuration row %q: the first cell must be one code span", line)
				continue
			}
			kind := ConfigKind(strings.TrimSpace(cells[1]))
			if kind == KindFlag {
				n = strings.TrimPrefix(n, "-")
			}
			names = append(names, ConfigName{Name: n, Kind: kind})
		case inTable:
			return names
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !inTable {
		t.Fatalf("%s has no table under %q", path, configTable)
	}
	return names
}

type nameKind struct {
	name string
	kind ConfigKind
}

func nameKinds(names []ConfigName) map[nameKind]int {
	m := map[nameKind]int{}
	for _, n := range names {
		m[nameKind{n.Name, n.Kind}]++
	}
	return m
}

func TestConfigNamesDocumented(t *testing.T) {
	listed := nameKinds(ConfigNames)
	documented := nameKinds(readmeConfigNames(t, "../README.md"))
	for nk, count := range listed {
		if count > 1 {
			t.Errorf("ConfigNames lists %s %q %d times", nk.kind, nk.name, count)
		}
		if documented[nk] == 0 {
			t.Errorf("%s %q is read by the code (ConfigNames) but missing from README.md's configuration table", nk.kind, nk.name)
		}
	}
	for nk, count := range documented {
		if count > 1 {
			t.Errorf("README.md's configuration table has %s %q %d times", nk.kind, nk.name, count)
		}
		if listed[nk] == 0 {
			t.Errorf("README.md documents %s %q, which ConfigNames does not list", nk.kind, nk.name)
		}
	}
}

func listedNames(kind ConfigKind, where string) []string {
	var names []string
	for _, n := range ConfigNames {
		if n.Kind == kind && (where == "" || n.Where == where) {
			names = append(names, n.Name)
		}
	}
	slices.Sort(names)
	return names
}

func TestConfigNamesFlagsAndOptions(t *testing.T) {
	var defined []string
	newFlagSet(&flags{}).VisitAll(func(f *flag.Flag) { defined = append(defined, f.Name) })
	slices.Sort(defined)
	if want := listedNames(KindFlag, whereShim); !slices.Equal(defined, want) {
		t.Errorf("the shim defines flags %q, ConfigNames lists %q", defined, want)
	}

	var keys []string
	table := reflect.TypeFor[optionsTable]()
	for i := range table.NumField() {
		keys = append(keys, table.Field(i).Tag.Get("toml"))
	}
	slices.Sort(keys)
	if want := listedNames(KindRuntimeOption, ""); !slices.Equal(keys, want) {
		t.Errorf("the options table has keys %q, ConfigNames lists %q", keys, want)
	}
}

// TestConfigNamesCoverTheCode scans the code for environment variables,
// annotations and flags that it reads, and requires each name to be a
// constant (not a literal) whose value ConfigNames lists. A name held in a
// variable (a loop over a list of constants) cannot be resolved and is
// left to review.
func TestConfigNamesCoverTheCode(t *testing.T) {
	listed := map[string]bool{}
	for _, n := range ConfigNames {
		listed[n.Name] = true
	}
	fset := token.NewFileSet()
	files := map[string][]*ast.File{} // by package name
	for _, dir := range []string{".", "../cmd", "../wasmexec", "../cgroups"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "e2e" || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			files[f.Name.Name] = append(files[f.Name.Name], f)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	consts := stringConsts(files)
	reads := 0
	for pkg, pkgFiles := range files {
		for _, f := range pkgFiles {
			ast.Inspect(f, func(n ast.Node) bool {
				arg := nameArgument(n)
				if arg == nil {
					return true
				}
				reads++
				pos := fset.Position(arg.Pos())
				switch a := arg.(type) {
				case *ast.BasicLit:
					t.Errorf("%s: the name %s is a literal: add it to ConfigNames and use its constant", pos, a.Value)
				case *ast.Ident, *ast.SelectorExpr:
					value, ok := resolveConst(consts, pkg, a)
					if ok && !listed[value] {
						t.Errorf("%s: %q is read but not in ConfigNames", pos, value)
					}
				}
				return true
			})
		}
	}
	if reads == 0 {
		t.Fatal("found no reads of environment variables, annotations or flags: the scan is broken")
	}
}

// stringConsts maps package name -> constant name -> value, for the
// constants declared as plain string literals.
func stringConsts(files map[string][]*ast.File) map[string]map[string]string {
	consts := map[string]map[string]string{}
	for pkg, pkgFiles := range files {
		consts[pkg] = map[string]string{}
		for _, f := range pkgFiles {
			for _, decl := range f.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.CONST {
					continue
				}
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, name := range vs.Names {
						if i >= len(vs.Values) {
							continue
						}
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							if v, err := strconv.Unquote(lit.Value); err == nil {
								consts[pkg][name.Name] = v
							}
						}
					}
				}
			}
		}
	}
	return consts
}

func resolveConst(consts map[string]map[string]string, pkg string, e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.Ident:
		v, ok := consts[pkg][e.Name]
		return v, ok
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok {
			v, ok := consts[x.Name][e.Sel.Name]
			return v, ok
		}
	}
	return "", false
}

// flagDefiners are the flag.FlagSet methods and flag functions that define
// a flag, with the index of the name argument. They are recognised on a
// receiver named fs (the code's name for its FlagSets) or the flag package.
var flagDefiners = map[string]int{
	"String": 0, "Bool": 0, "Int": 0, "Int64": 0, "Uint": 0, "Uint64": 0, "Duration": 0, "Float64": 0,
	"StringVar": 1, "BoolVar": 1, "IntVar": 1, "Int64Var": 1, "UintVar": 1, "Uint64Var": 1, "DurationVar": 1, "Float64Var": 1,
	"Func": 0, "BoolFunc": 0, "Var": 1, "TextVar": 1,
}

// nameArgument returns the expression that names what n reads: the key of
// os.Getenv/os.LookupEnv (or of a getenv function passed in), of an
// Annotations map, or the name of a flag being defined.
func nameArgument(n ast.Node) ast.Expr {
	switch n := n.(type) {
	case *ast.IndexExpr:
		if sel, ok := n.X.(*ast.SelectorExpr); ok && sel.Sel.Name == "Annotations" {
			return n.Index
		}
	case *ast.CallExpr:
		var fn string
		switch f := n.Fun.(type) {
		case *ast.Ident:
			fn = f.Name
		case *ast.SelectorExpr:
			fn = f.Sel.Name
			if x, ok := f.X.(*ast.Ident); ok && (x.Name == "fs" || x.Name == "flag") {
				if i, ok := flagDefiners[fn]; ok && len(n.Args) > i && len(n.Args) >= 3 {
					return n.Args[i]
				}
			}
		}
		switch fn {
		case "Getenv", "LookupEnv", "getenv", "lookupEnv":
			if len(n.Args) == 1 {
				return n.Args[0]
			}
		}
	}
	return nil
}
