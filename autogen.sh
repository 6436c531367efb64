#!/bin/sh
# Regenerates the build system; downloads nothing.
set -e
cd "$(dirname "$0")"
autoreconf -fi
