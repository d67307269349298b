#!/bin/sh
# Docent's container entry point. The models are baked into the image under
# $DOCENT_BAKED_MODELS, while the data dir is a volume; Docent reads models from
# <data dir>/models, so link it to the baked copy unless the volume already has one.
# A link (not a copy) means an image upgrade brings its models with it.
set -eu
data="${DOCENT_DATA_DIR:-/var/lib/docent}"
mkdir -p "$data"
if [ ! -e "$data/models" ] && [ -n "${DOCENT_BAKED_MODELS:-}" ]; then
    ln -s "$DOCENT_BAKED_MODELS" "$data/models"
fi
exec "$@"
