package wasmexec

import (
	"fmt"
	"math"
)

// cvalKind is the kind of a component value; the numbers are wasmtime's
// (WASMTIME_COMPONENT_BOOL...), checked by TestCDeclarationsMatchHeaders.
type cvalKind uint8

const (
	kindBool cvalKind = iota
	kindS8
	kindU8
	kindS16
	kindU16
	kindS32
	kindU32
	kindS64
	kindU64
	kindF32
	kindF64
	kindChar
	kindString
	kindList
	kindRecord
	kindTuple
	kindVariant
	kindEnum
	kindOption
	kindResult
	kindFlags
	kindResource
)

var kindNames = [...]string{"bool", "s8", "u8", "s16", "u16", "s32", "u32", "s64", "u64", "f32", "f64",
	"char", "string", "list", "record", "tuple", "variant", "enum", "option", "result", "flags", "resource"}

func (k cvalKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// cval is a component-model value on the Go side: what a host function
// receives and returns, and what a call into the guest takes and gives.
// Build one with the val* functions (and hostInstance.own for a new
// resource); read one with its methods, which panic on a value of
// another kind (inside a host function the panic becomes a trap).
type cval struct {
	kind cvalKind
	// num holds every scalar (floats as their bits, signed values sign
	// extended), whether an option is some or a result ok, and for a
	// list whether it is a list<u8> held in bytes.
	num   uint64
	str   string   // string, enum case, variant case
	bytes []byte   // list<u8>
	elems []cval   // list, tuple, record field values; the payload of option, result, variant
	names []string // record field names, flags set
	res   resourceRef
}

// resourceRef is a resource handle: the host type, the rep that maps it
// to its Go object in the instance's table, and own or borrow.
type resourceRef struct {
	typ   *resourceType
	rep   uint32
	owned bool
}

func valBool(b bool) cval {
	if b {
		return cval{kind: kindBool, num: 1}
	}
	return cval{kind: kindBool}
}
func valU8(v uint8) cval   { return cval{kind: kindU8, num: uint64(v)} }
func valU16(v uint16) cval { return cval{kind: kindU16, num: uint64(v)} }
func valU32(v uint32) cval { return cval{kind: kindU32, num: uint64(v)} }
func valU64(v uint64) cval { return cval{kind: kindU64, num: v} }
func valS8(v int8) cval    { return cval{kind: kindS8, num: uint64(v)} }
func valS16(v int16) cval  { return cval{kind: kindS16, num: uint64(v)} }
func valS32(v int32) cval  { return cval{kind: kindS32, num: uint64(v)} }
func valS64(v int64) cval  { return cval{kind: kindS64, num: uint64(v)} }
func valF32(v float32) cval {
	return cval{kind: kindF32, num: uint64(math.Float32bits(v))}
}
func valF64(v float64) cval      { return cval{kind: kindF64, num: math.Float64bits(v)} }
func valChar(r rune) cval        { return cval{kind: kindChar, num: uint64(uint32(r))} }
func valString(s string) cval    { return cval{kind: kindString, str: s} }
func valEnum(name string) cval   { return cval{kind: kindEnum, str: name} }
func valList(elems ...cval) cval { return cval{kind: kindList, elems: elems} }
func valTuple(elems ...cval) cval {
	return cval{kind: kindTuple, elems: elems}
}

// valBytes is a list<u8>; the slice is read when the value is converted
// (one copy, no per-byte call).
func valBytes(b []byte) cval { return cval{kind: kindList, num: 1, bytes: b} }

// valFlags is a flags value with the named flags set.
func valFlags(names ...string) cval { return cval{kind: kindFlags, names: names} }

// field is one field of a record.
type field struct {
	name string
	val  cval
}

func valRecord(fields ...field) cval {
	v := cval{kind: kindRecord, names: make([]string, len(fields)), elems: make([]cval, len(fields))}
	for i, f := range fields {
		v.names[i], v.elems[i] = f.name, f.val
	}
	return v
}

// valVariant is the case name of a variant, with its payload when the
// case has one.
func valVariant(name string, payload ...cval) cval {
	return cval{kind: kindVariant, str: name, elems: onePayload(payload)}
}

func valSome(v cval) cval { return cval{kind: kindOption, num: 1, elems: []cval{v}} }
func valNone() cval       { return cval{kind: kindOption} }

// valOk and valErr are the cases of a result, with a payload when the
// result type has one for that case.
func valOk(payload ...cval) cval  { return cval{kind: kindResult, num: 1, elems: onePayload(payload)} }
func valErr(payload ...cval) cval { return cval{kind: kindResult, elems: onePayload(payload)} }

// valOwn passes a handle the host holds (r.rep in the table) to the
// guest, which then owns it. There is no valBorrow: wasmtime's C API
// cannot lend a host resource to the guest (see hostInstance.toC).
func valOwn(r resourceRef) cval {
	r.owned = true
	return cval{kind: kindResource, res: r}
}

func onePayload(p []cval) []cval {
	if len(p) > 1 {
		panic("component value: more than one payload")
	}
	return p
}

func (v cval) Kind() cvalKind { return v.kind }

func (v cval) want(kinds ...cvalKind) {
	for _, k := range kinds {
		if v.kind == k {
			return
		}
	}
	panic(fmt.Sprintf("component value: want %v, have a %v", kinds, v.kind))
}

func (v cval) Bool() bool { v.want(kindBool); return v.num != 0 }

// U64 reads any unsigned integer.
func (v cval) U64() uint64 { v.want(kindU8, kindU16, kindU32, kindU64); return v.num }
func (v cval) U32() uint32 { v.want(kindU8, kindU16, kindU32); return uint32(v.num) }
func (v cval) U16() uint16 { v.want(kindU8, kindU16); return uint16(v.num) }
func (v cval) U8() uint8   { v.want(kindU8); return uint8(v.num) }

// S64 reads any signed integer.
func (v cval) S64() int64   { v.want(kindS8, kindS16, kindS32, kindS64); return int64(v.num) }
func (v cval) S32() int32   { v.want(kindS8, kindS16, kindS32); return int32(v.num) }
func (v cval) F32() float32 { v.want(kindF32); return math.Float32frombits(uint32(v.num)) }
func (v cval) F64() float64 { v.want(kindF64); return math.Float64frombits(v.num) }
func (v cval) Char() rune   { v.want(kindChar); return rune(v.num) }
func (v cval) Str() string  { v.want(kindString); return v.str }

// Case is the case name of a variant or an enum.
func (v cval) Case() string { v.want(kindVariant, kindEnum); return v.str }

// Bytes reads a list<u8> (an empty list of any type reads as nil).
func (v cval) Bytes() []byte {
	v.want(kindList)
	if v.num != 1 && len(v.elems) > 0 {
		panic("component value: want list<u8>, have a list of " + v.elems[0].kind.String())
	}
	return v.bytes
}

// Elems are the elements of a list or a tuple, or the field values of a
// record in order.
func (v cval) Elems() []cval { v.want(kindList, kindTuple, kindRecord); return v.elems }

// Field is the record field name.
func (v cval) Field(name string) cval {
	v.want(kindRecord)
	for i, n := range v.names {
		if n == name {
			return v.elems[i]
		}
	}
	panic("component value: record has no field " + name)
}

// Flags are the flags set.
func (v cval) Flags() []string { v.want(kindFlags); return v.names }

func (v cval) IsSome() bool { v.want(kindOption); return v.num == 1 }
func (v cval) IsOk() bool   { v.want(kindResult); return v.num == 1 }

// Payload is the value carried by an option's some, a result's case or
// a variant's case; ok is false when there is none.
func (v cval) Payload() (p cval, ok bool) {
	v.want(kindOption, kindResult, kindVariant)
	if len(v.elems) == 0 {
		return cval{}, false
	}
	return v.elems[0], true
}

// Resource is the handle a resource value carries.
func (v cval) Resource() resourceRef { v.want(kindResource); return v.res }
