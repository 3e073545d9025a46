{
  "targets": [
    {
      "target_name": "l4mesh_netns",
      "sources": ["l4mesh_netns.c"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"]
    }
  ]
}
