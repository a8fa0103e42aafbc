"""The class stack's HAProxy configuration: generated, accepted by `haproxy -c`, cookie affinity, other hosts."""
from __future__ import annotations

import pytest

from serve.haproxy import ProxyConfig, Replica, haproxy_path, render, validate, write
from serve.launch import ClassConfig, parse, plan, remote_replicas

REPLICAS = [Replica("r0", "127.0.0.2", 8601), Replica("r1", "127.0.0.3", 8602), Replica("remote0", "10.0.0.7", 8501)]


@pytest.fixture(autouse=True)
def needs_haproxy():
    assert haproxy_path() is not None, "Debian's haproxy is missing: `make test` installs it (make haproxy)"


def test_the_generated_config_passes_haproxy_check(tmp_path):
    path = write(ProxyConfig(REPLICAS, port=8500), tmp_path)
    text = path.read_text()
    validate(path)  # raises with HAProxy's message otherwise
    for code in (502, 503, 504):
        assert f"errorfile {code}" in text
        page = (tmp_path / f"{code}.http").read_text()
        assert page.startswith(f"HTTP/1.0 {code}") and "Reconnecting to the class server" in page


def test_affinity_is_a_cookie_never_the_client_address():
    text = render(ProxyConfig(REPLICAS))
    assert "cookie SERVERID insert indirect nocache" in text
    assert "balance source" not in text and "hash" not in text
    for r in REPLICAS:  # replicas on other hosts are plain server lines with their own cookie value
        assert f"server {r.name} {r.host}:{r.port} check cookie {r.name}" in text


def test_health_checks_and_long_websocket_timeouts():
    text = render(ProxyConfig(REPLICAS, tunnel_timeout="3h"))
    assert "option httpchk GET /_stcore/health" in text
    assert "timeout tunnel 3h" in text
    assert "option redispatch" in text


def test_haproxy_check_rejects_a_broken_config(tmp_path):
    bad = tmp_path / "bad.cfg"
    bad.write_text(render(ProxyConfig(REPLICAS)).replace("balance leastconn", "balance nonsense"))
    with pytest.raises(ValueError, match="balance only supports"):
        validate(bad)


def test_no_replica_is_an_error():
    with pytest.raises(ValueError):
        render(ProxyConfig([]))


def test_replicas_are_spread_over_the_given_addresses():
    replicas = plan(ClassConfig(replicas=3, port=9000, hosts=["127.0.0.2", "127.0.0.3"]))
    assert [(r.name, r.host, r.port) for r in replicas] == [
        ("r0", "127.0.0.2", 9001), ("r1", "127.0.0.3", 9002), ("r2", "127.0.0.2", 9003)]


def test_the_command_line():
    cfg = parse(["--replicas", "2", "--port", "8600", "--remote", "10.0.0.7:8501", "--", "--server.enableAgentApi",
                 "true"])
    assert (cfg.replicas, cfg.port, cfg.streamlit_args) == (2, 8600, ["--server.enableAgentApi", "true"])
    assert remote_replicas(cfg) == [Replica("remote0", "10.0.0.7", 8501)]
    with pytest.raises(ValueError):
        remote_replicas(ClassConfig(remote=["no-port"]))


def test_a_launch_that_cannot_start_says_why(monkeypatch, capsys):
    import serve.haproxy
    import serve.launch

    monkeypatch.setattr(serve.haproxy, "haproxy_path", lambda: None)  # as on a machine without `make haproxy`
    assert serve.launch.main(["--replicas", "1", "--port", "8599"]) == 1
    assert "make haproxy" in capsys.readouterr().err
