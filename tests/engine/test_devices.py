"""Device names: ``auto`` answers without torch only where torch could not see a GPU anyway."""

import sys

import pytest

from poolcli.engine import devices
from poolcli.errors import UsageError


def test_auto_agrees_with_torch():
    assert devices.resolve_device("auto") == str(devices.torch_device("auto"))
    assert devices.resolve_device(None) == devices.resolve_device("auto")


def test_cpu_and_auto_without_gpu_nodes_do_not_need_torch(monkeypatch):
    # A None entry in sys.modules makes `import torch` fail: torch is not reached.
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setattr(devices, "gpu_possible", lambda: False)
    assert devices.resolve_device("CPU") == "cpu"
    assert devices.resolve_device("auto") == "cpu"
    with pytest.raises(ImportError):
        devices.resolve_device("cuda")  # a named GPU is always checked with torch


@pytest.mark.parametrize(
    ("platform", "nodes", "possible"),
    [
        ("linux", set(), False),
        ("linux", {"/dev/nvidiactl"}, True),
        ("linux", {"/dev/kfd"}, True),
        ("linux", {"/dev/dxg"}, True),
        ("linux", {"/dev/null"}, False),
        ("darwin", set(), True),
        ("win32", set(), True),
    ],
)
def test_gpu_possible(monkeypatch, platform, nodes, possible):
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(devices.os.path, "exists", lambda path: path in nodes)
    assert devices.gpu_possible() is possible


def test_missing_named_device_is_a_usage_error():
    with pytest.raises(UsageError, match="not available on this machine"):
        devices.resolve_device("cuda:99")


@pytest.mark.parametrize(
    ("text", "name"),
    [("cpu", "cpu"), (" CUDA ", "cuda"), ("cuda:1", "cuda:1"), ("MPS", "mps"), ("auto", "auto")],
)
def test_check_device_name_spells_the_name_without_torch(monkeypatch, text, name):
    monkeypatch.setitem(sys.modules, "torch", None)
    assert devices.check_device_name(text) == name


@pytest.mark.parametrize("text", ["tpu", "", "cuda:", "cuda:x", "mps:0", "cpu:0", "xpu", 3, None])
def test_every_device_check_refuses_a_bad_name_in_one_wording(text):
    wording = f"--device {text} is not a device: use cpu, cuda, cuda:N, mps or auto."
    checks = [devices.check_device_name]
    if text is not None:  # None means auto to the resolvers
        checks += [devices.resolve_device, devices.torch_device]
    for check in checks:
        with pytest.raises(UsageError) as info:
            check(text)
        assert str(info.value) == wording and info.value.option == "--device"


def test_torch_device_gives_a_torch_device():
    import torch

    assert devices.torch_device("CPU") == torch.device("cpu")
    assert devices.torch_device(None) == devices.torch_device("auto")
