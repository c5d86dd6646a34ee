package shim

import (
	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/listen"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/native"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/taskchild"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/wasmlayer"
)

// ConfigKind says where a configuration name is read from.
type ConfigKind string

const (
	// KindEnv is the shim's own environment, which it inherits from
	// containerd's (set it in containerd's service, not in a container).
	KindEnv ConfigKind = "environment"
	// KindContainerEnv is a variable of the container's process.env that
	// the shim reads as a setting, not only hands to the module.
	KindContainerEnv ConfigKind = "container environment"
	// KindAnnotation is an annotation of the container's OCI spec.
	KindAnnotation ConfigKind = "annotation"
	// KindLayerAnnotation is an annotation of a layer in the image manifest.
	KindLayerAnnotation ConfigKind = "layer annotation"
	// KindRuntimeOption is a key of the runtime handler's options table.
	KindRuntimeOption ConfigKind = "runtime option"
	// KindFlag is a command-line flag of the binary (written -name).
	KindFlag ConfigKind = "flag"
)

// ConfigName is one name the shim reads from outside: what a user, an
// image or containerd sets to steer it.
type ConfigName struct {
	Name string
	Kind ConfigKind
	// Where is the package (and command) that reads it.
	Where string
}

// Names that this package reads itself. Names read by a sub-package are
// constants there (the sub-packages cannot import this one) and are listed
// in ConfigNames through those constants.
const (
	// EnvTTRPCAddress and EnvGRPCAddress are containerd's addresses, set by
	// containerd for a shim it starts (the server gets them from start).
	EnvTTRPCAddress = "TTRPC_ADDRESS"
	EnvGRPCAddress  = "GRPC_ADDRESS"

	// The sandbox annotations put all containers of one Pod into one shim.
	AnnotationCRISandboxID  = "io.kubernetes.cri.sandbox-id"
	AnnotationCRIOSandboxID = "io.kubernetes.cri-o.SandboxID"

	// OptionBinaryName names the runc of native containers. OptionTypeURL
	// and OptionConfigPath are the fields of runtimeoptions.v1.Options,
	// which CRI copies into the table it hands the shim.
	OptionBinaryName = "BinaryName"
	OptionTypeURL    = "TypeUrl"
	OptionConfigPath = "ConfigPath"

	// Flags containerd passes to the shim binary.
	FlagNamespace     = "namespace"
	FlagID            = "id"
	FlagAddress       = "address"
	FlagPublishBinary = "publish-binary"
	FlagBundle        = "bundle"
	FlagSocket        = "socket"
	FlagDebug         = "debug"
	FlagVersion       = "version"
	FlagVersionShort  = "v"
	FlagInfo          = "info"

	// FlagCacheDir names another cache directory for the cache commands.
	FlagCacheDir = "dir"
)

const (
	whereShim      = "shim"
	whereCacheCmd  = "cmd/containerd-shim-wasm-v1 (cache)"
	whereTaskchild = "shim/taskchild"
)

// ConfigNames is every name the shim and its commands read from outside.
// The README's configuration table documents exactly these (a unit test
// compares the two), so a new setting is added here and read through its
// constant.
var ConfigNames = []ConfigName{
	{taskchild.CacheDirEnv, KindEnv, whereTaskchild},
	{taskchild.CacheMaxBytesEnv, KindEnv, whereTaskchild},
	{native.BinaryEnv, KindEnv, whereShim},
	{EnvTTRPCAddress, KindEnv, whereShim},
	{EnvGRPCAddress, KindEnv, whereShim},
	{AnnotationCRISandboxID, KindAnnotation, whereShim},
	{AnnotationCRIOSandboxID, KindAnnotation, whereShim},
	{AnnotationWASIHost, KindAnnotation, whereShim},
	{listen.Env, KindContainerEnv, whereShim},
	{listen.HTTPProxyEnv, KindContainerEnv, whereShim},
	{listen.HTTPMaxInFlightEnv, KindContainerEnv, whereShim},
	{wasmlayer.AnnotationTitle, KindLayerAnnotation, "shim/wasmlayer"},
	{OptionBinaryName, KindRuntimeOption, whereShim},
	{OptionConfigPath, KindRuntimeOption, whereShim},
	{OptionTypeURL, KindRuntimeOption, whereShim},
	{FlagNamespace, KindFlag, whereShim},
	{FlagID, KindFlag, whereShim},
	{FlagAddress, KindFlag, whereShim},
	{FlagPublishBinary, KindFlag, whereShim},
	{FlagBundle, KindFlag, whereShim},
	{FlagSocket, KindFlag, whereShim},
	{FlagDebug, KindFlag, whereShim},
	{FlagVersion, KindFlag, whereShim},
	{FlagVersionShort, KindFlag, whereShim},
	{FlagInfo, KindFlag, whereShim},
	{FlagCacheDir, KindFlag, whereCacheCmd},
}
