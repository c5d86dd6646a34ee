package cgroups

import "testing"

func TestPath(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "", want: "/containerd-shim-wasm/ns/c1"},
		{in: "/default/c1", want: "/default/c1"},
		{in: "default/c1", want: "/default/c1"},
		{in: "/kubepods/burstable/pod1/../c1", want: "/kubepods/burstable/c1"},
		{in: "system.slice:cri-containerd:abc", want: "/system.slice/cri-containerd-abc.scope"},
		{in: "kubepods-burstable-pod12.slice:cri-containerd:abc", want: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12.slice/cri-containerd-abc.scope"},
		{in: ":cri-containerd:abc", want: "/system.slice/cri-containerd-abc.scope"},
		{in: "-.slice::abc", want: "/abc.scope"},
		{in: "user.slice::sub.slice", want: "/user.slice/sub.slice"},
		{in: "a:b", wantErr: true},
		{in: "nodotslice:p:n", wantErr: true},
		{in: "a--b.slice:p:n", wantErr: true},
		{in: "a/b.slice:p:n", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Path(tc.in, "ns", "c1")
			if (err != nil) != tc.wantErr {
				t.Fatalf("Path(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
			}
			if got != tc.want {
				t.Fatalf("Path(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
