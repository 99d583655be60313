import pytest

from stratus.platform.runtime.eventpattern import PatternError, matches

OBJECT_CREATED = {
    "source": "aws.s3",
    "detail-type": "Object Created",
    "detail": {
        "bucket": {"name": "reports"},
        "object": {"key": "acme/cur/2026.csv.gz", "size": 10},
    },
}


def test_nested_fields_must_all_match():
    pattern = {"source": ["aws.s3"], "detail": {"bucket": {"name": ["reports"]}}}
    assert matches(pattern, OBJECT_CREATED)
    assert not matches(
        {"source": ["aws.s3"], "detail": {"bucket": {"name": ["other"]}}}, OBJECT_CREATED
    )


def test_any_value_of_a_leaf_may_match():
    assert matches({"detail-type": ["Object Deleted", "Object Created"]}, OBJECT_CREATED)


@pytest.mark.parametrize(
    ("matcher", "expected"),
    [
        ({"prefix": "acme/"}, True),
        ({"prefix": "other/"}, False),
        ({"suffix": ".csv.gz"}, True),
        ({"wildcard": "acme/*/2026.*"}, True),
        ({"anything-but": "x"}, True),
        ({"anything-but": {"prefix": "acme/"}}, False),
        ({"equals-ignore-case": "ACME/CUR/2026.CSV.GZ"}, True),
    ],
)
def test_string_matchers(matcher, expected):
    assert matches({"detail": {"object": {"key": [matcher]}}}, OBJECT_CREATED) is expected


def test_numeric_ranges_and_exists():
    assert matches(
        {"detail": {"object": {"size": [{"numeric": [">", 5, "<=", 10]}]}}}, OBJECT_CREATED
    )
    assert not matches({"detail": {"object": {"size": [{"numeric": [">", 10]}]}}}, OBJECT_CREATED)
    assert matches({"detail": {"object": {"etag": [{"exists": False}]}}}, OBJECT_CREATED)
    assert not matches({"detail": {"object": {"key": [{"exists": False}]}}}, OBJECT_CREATED)


def test_a_missing_field_does_not_match_a_value():
    assert not matches({"account": ["123"]}, OBJECT_CREATED)


def test_numbers_match_across_int_and_float_but_not_strings():
    assert matches({"n": [10]}, {"n": 10.0})
    assert not matches({"n": ["10"]}, {"n": 10})


def test_malformed_patterns_are_reported():
    with pytest.raises(PatternError):
        matches({"source": "aws.s3"}, OBJECT_CREATED)
    with pytest.raises(PatternError):
        matches({"detail-type": [{"nope": 1}]}, OBJECT_CREATED)
    with pytest.raises(PatternError):
        matches({"detail": {"object": {"size": [{"numeric": [">"]}]}}}, OBJECT_CREATED)


def test_string_subclasses_from_yaml_loaders_match_like_strings():
    class Node(str):
        pass

    assert matches({"source": [Node("aws.s3")]}, OBJECT_CREATED)


def test_booleans_and_null_match_only_their_own_kind():
    assert matches({"flag": [True]}, {"flag": True})
    assert not matches({"flag": [True]}, {"flag": 1})
    assert matches({"v": [None]}, {"v": None})
    assert not matches({"v": [None]}, {})
