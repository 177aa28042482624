from engine.diffs import diff_documents


def test_changed_added_removed_and_rows():
    old = {"population": {"pop_total": 10, "pop_male": 5}, "elders": [{"name": "甲"}, {"name": "乙"}]}
    new = {"population": {"pop_total": 11, "pop_female": 6}, "elders": [{"name": "甲"}, {"name": "丙"}]}
    changes = {c.data_path: (c.old, c.new, c.kind) for c in diff_documents(None, old, new)}
    assert changes == {
        "population.pop_total": (10, 11, "changed"),
        "population.pop_female": (None, 6, "added"),
        "elders.1.name": ("乙", "丙", "changed"),
        "population.pop_male": (5, None, "removed"),
    }


def test_labels_come_from_the_definition():
    from engine.definitions import load_indicator_file

    ind = load_indicator_file("definitions/indicators/elderly_allowance/v1.json")
    [change] = diff_documents(ind, {"elders": [{"name": "甲"}]}, {"elders": [{"name": "乙"}]})
    assert change.label == "姓名（第1行）"


def test_identical_documents_have_no_changes():
    doc = {"a": {"b": 1}}
    assert diff_documents(None, doc, dict(doc)) == []
