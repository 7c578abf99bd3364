"""The test suite. It mirrors the code: tests/rebates/engine/ tests rebates/engine/, tests/pages/ the pages
app. An R-number in a docstring (R1 to R20) names a reliability requirement of docs/reliability.md; "worked
example N" and "the seed scenario" are those of docs/product.md."""
