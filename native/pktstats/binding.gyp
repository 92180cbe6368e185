{
  "targets": [
    { "target_name": "pktstats", "sources": ["pktstats.c"], "libraries": ["-ldl"] }
  ]
}
