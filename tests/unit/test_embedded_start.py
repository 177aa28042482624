"""Starting the embedded PostgreSQL: quiet on stderr where XDG_RUNTIME_DIR is unset (cron, systemd)."""

import sys
import types
import warnings

from engine.db import embedded


def test_the_runtime_dir_warning_of_pgserver_is_silenced_only_there(monkeypatch, tmp_path):
    class Server:
        def get_uri(self, db_name="postgres"):
            return f"postgresql://localhost/{db_name}"

    def get_server(pgdata, cleanup_mode):
        warnings.warn("XDG_RUNTIME_DIR is not set, falling back to /tmp/runtime-0", UserWarning, stacklevel=1)
        return Server()

    monkeypatch.setitem(sys.modules, "pgserver", types.SimpleNamespace(get_server=get_server))
    monkeypatch.setattr(embedded, "ensure_database", lambda admin, name: None)
    monkeypatch.setattr(embedded, "_SERVERS", [])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert embedded.start_embedded(tmp_path / "pgdata", "grassroots") == "postgresql+psycopg://localhost/grassroots"
        warnings.warn("another warning", UserWarning, stacklevel=1)  # everything else still shows
    assert [str(w.message) for w in seen] == ["another warning"]
