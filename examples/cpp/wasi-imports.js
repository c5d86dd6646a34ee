// Emscripten 3.1's JavaScript library defines only some WASI preview 1
// calls. The module imports the others from wasi_snapshot_preview1 directly
// (see main.cpp), and em++ refuses to link an import that no JavaScript
// library names, even when no JavaScript will ever run (-sSTANDALONE_WASM).
// These entries only satisfy that check; the WASI runtime provides the calls.
mergeInto(LibraryManager.library, {
  fd_prestat_get: function() { abort('fd_prestat_get is provided by the WASI runtime'); },
  fd_prestat_dir_name: function() { abort('fd_prestat_dir_name is provided by the WASI runtime'); },
  path_open: function() { abort('path_open is provided by the WASI runtime'); },
  poll_oneoff: function() { abort('poll_oneoff is provided by the WASI runtime'); },
  path_unlink_file: function() { abort('path_unlink_file is provided by the WASI runtime'); },
  random_get: function() { abort('random_get is provided by the WASI runtime'); },
});
