import dataclasses

import pytest

from edge.config import Config, S3Domain, parse_allowed_sizes, parse_s3_domain
from edge.errors import Misconfigured
from edge.event import Headers, S3Origin


def origin(domain="derivs.s3.us-east-1.amazonaws.com", region="us-east-1", path="", **headers) -> S3Origin:
    raw = {name.replace("_", "-"): [{"key": name.replace("_", "-"), "value": value}] for name, value in headers.items()}
    return S3Origin(domain_name=domain, region=region, path=path, custom_headers=Headers.from_cloudfront(raw))


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("derivs.s3.amazonaws.com", S3Domain("derivs", None, fips=False, dualstack=False)),
        ("derivs.s3.eu-west-1.amazonaws.com", S3Domain("derivs", "eu-west-1", fips=False, dualstack=False)),
        ("my.dotted.bucket.s3.us-east-1.amazonaws.com",
         S3Domain("my.dotted.bucket", "us-east-1", fips=False, dualstack=False)),
        ("derivs.s3-us-west-2.amazonaws.com", S3Domain("derivs", "us-west-2", fips=False, dualstack=False)),
        ("derivs.s3.dualstack.eu-west-1.amazonaws.com", S3Domain("derivs", "eu-west-1", fips=False, dualstack=True)),
        ("derivs.s3-fips.us-gov-west-1.amazonaws.com", S3Domain("derivs", "us-gov-west-1", fips=True, dualstack=False)),
        ("derivs.s3-fips.dualstack.us-east-2.amazonaws.com",
         S3Domain("derivs", "us-east-2", fips=True, dualstack=True)),
        ("derivs.s3-external-1.amazonaws.com", S3Domain("derivs", "us-east-1", fips=False, dualstack=False)),
        ("Derivs.S3.amazonaws.com", S3Domain("derivs", None, fips=False, dualstack=False)),
        ("Derivs.S3-FIPS.us-east-1.amazonaws.com", S3Domain("derivs", "us-east-1", fips=True, dualstack=False)),
        ("abc.s3.amazonaws.com", S3Domain("abc", None, fips=False, dualstack=False)),  # S3's shortest, and longest
        ("a" * 63 + ".s3.amazonaws.com", S3Domain("a" * 63, None, fips=False, dualstack=False)),
    ],
)
def test_bucket_region_and_endpoint_from_virtual_hosted_domain(domain, expected):
    assert parse_s3_domain(domain) == expected


@pytest.mark.parametrize("domain", [
    "example.com", "s3.amazonaws.com", "derivs.s3.amazonaws.com.evil.com", "", "ab.s3.amazonaws.com",
    "a" * 64 + ".s3.amazonaws.com", "-ab.s3.amazonaws.com", "ab-.s3.amazonaws.com", "derivs-s3.amazonaws.com",
    "derivs.s3.amazonawsXcom", "derivs.s3.dualstack.amazonaws.com.evil.com", "derivs.s3-external-2.amazonaws.com",
    # FIPS and dual-stack endpoints exist only with a region; external-1 only straight after s3
    "derivs.s3.fips.us-east-1.amazonaws.com", "derivs.s3.dualstack.amazonaws.com", "derivs.s3-fips.amazonaws.com",
    "derivs.s3-fips.dualstack.amazonaws.com", "derivs.s3-fips-external-1.amazonaws.com",
    "derivs.s3.dualstack-eu-west-1.amazonaws.com", "derivs.s3.dualstack-external-1.amazonaws.com",
    # a region is two letters, one or more words, and a number, each after a hyphen
    "derivs.s3.eu-1.amazonaws.com", "derivs.s3.eu--1.amazonaws.com", "derivs.s3.eu-west.amazonaws.com",
    # the number is one digit, as the template's OriginalsBucketRegion pattern has it
    "derivs.s3.eu-west-12.amazonaws.com", "derivs.s3-eu-west-12.amazonaws.com",
])
def test_other_domains_are_a_misconfiguration(domain):
    with pytest.raises(Misconfigured):
        parse_s3_domain(domain)


def test_defaults_follow_the_spec():
    config = Config.from_origin(origin(x_originals_bucket="originals"))
    assert config == Config(
        originals_bucket="originals",
        originals_region="us-east-1",
        derivatives_bucket="derivs",
        derivatives_region="us-east-1",
        max_dimension=4096,
        allowed_sizes=None,
        max_source_pixels=50_000_000,
        max_source_bytes=41_943_040,
        max_frames=300,
        cache_control="public, max-age=31536000, immutable",
        fips=False,
        dualstack=False,
    )


@pytest.mark.parametrize(
    ("domain", "region", "expected"),
    [
        ("derivs.s3.amazonaws.com", "eu-west-1", "eu-west-1"),  # the event's region first
        ("derivs.s3.eu-west-1.amazonaws.com", "", "eu-west-1"),  # then the domain's
        ("derivs.s3.amazonaws.com", "", "us-east-1"),  # then S3's global endpoint's
    ],
)
def test_where_the_derivatives_bucket_is(domain, region, expected):
    config = Config.from_origin(origin(domain=domain, region=region, x_originals_bucket="originals"))
    assert (config.derivatives_region, config.originals_region) == (expected, expected)


@pytest.mark.parametrize(("domain", "fips", "dualstack"), [
    ("derivs.s3.us-east-2.amazonaws.com", False, False),
    ("derivs.s3-fips.us-east-2.amazonaws.com", True, False),
    ("derivs.s3.dualstack.us-east-2.amazonaws.com", False, True),
    ("derivs.s3-fips.dualstack.us-east-2.amazonaws.com", True, True),
])
def test_s3_is_reached_through_the_origins_kind_of_endpoint(domain, fips, dualstack):
    config = Config.from_origin(origin(domain=domain, region="us-east-2", x_originals_bucket="originals"))
    assert (config.fips, config.dualstack) == (fips, dualstack)


def test_every_header_is_read_case_insensitively():
    config = Config.from_origin(origin(
        domain="derivs.s3.eu-west-1.amazonaws.com", region="",
        **{"X-Originals-Bucket": "originals", "X-ORIGINALS-REGION": "us-west-2", "x-max-dimension": "2000",
           "x-allowed-sizes": " 320x, 640x ,300x300 ", "x-max-source-pixels": "1000", "x-max-source-bytes": "2000",
           "x-max-frames": "10", "x-cache-control": "public, max-age=60"},
    ))
    assert (config.originals_bucket, config.originals_region) == ("originals", "us-west-2")
    assert (config.derivatives_bucket, config.derivatives_region) == ("derivs", "eu-west-1")
    assert config.max_dimension == 2000
    assert config.allowed_sizes == frozenset({"320x", "640x", "300x300"})
    assert (config.max_source_pixels, config.max_source_bytes, config.max_frames) == (1000, 2000, 10)
    assert config.cache_control == "public, max-age=60"


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("", None), ("  ", None), ("*", None), (" * ", None),
                                                 ("640x", frozenset({"640x"})), ("640x,,", frozenset({"640x"})),
                                                 ("640x, ,320x", frozenset({"640x", "320x"})),
                                                 # Larger than any URL may ask for: listed, and never matched.
                                                 ("320x,100000x", frozenset({"320x", "100000x"}))])
def test_allowed_sizes(value, expected):
    assert parse_allowed_sizes(value) == expected


@pytest.mark.parametrize("value", [",", " , ,", "640X", "640x,jpg", "320x, *", "0640x", "640", "640x480x2", "x",
                                   "640x,cover", "640x 480x"])
def test_allowed_sizes_a_url_could_not_match_are_a_misconfiguration(value):
    with pytest.raises(Misconfigured, match="x-allowed-sizes"):
        Config.from_origin(origin(x_originals_bucket="originals", x_allowed_sizes=value))


def test_missing_originals_bucket_is_a_misconfiguration():
    with pytest.raises(Misconfigured) as raised:
        Config.from_origin(origin())
    assert raised.value.status == 500 and raised.value.cache_control == "no-store"


def test_a_number_may_have_twelve_digits():
    config = Config.from_origin(origin(x_originals_bucket="originals", x_max_source_bytes="9" * 12))
    assert config.max_source_bytes == 999_999_999_999


def test_a_number_may_have_one_digit():
    config = Config.from_origin(origin(x_originals_bucket="originals", x_max_frames="1", x_max_dimension="9"))
    assert (config.max_frames, config.max_dimension) == (1, 9)


@pytest.mark.parametrize("value", ["abc", "-1", "0", "1.5", "10 000", "0100", "1" * 13])
def test_malformed_numbers_are_a_misconfiguration(value):
    with pytest.raises(Misconfigured):
        Config.from_origin(origin(x_originals_bucket="originals", x_max_dimension=value))


# str.strip() also takes U+001C-U+001F away, which int() refuses: the number is read as it was checked.
@pytest.mark.parametrize("value", [" 2048 ", "\t2048\n", "2048\x1c", "\x1f2048"])
def test_a_number_is_read_as_it_was_checked_spaces_stripped(value):
    config = Config.from_origin(origin(x_originals_bucket="originals", x_max_dimension=value))
    assert config.max_dimension == 2048


@pytest.mark.parametrize("value", ["public, max-age=60 \u2014 a year", "max-age=60\r\nx-injected: 1", "max-age=60\x7f"])
def test_a_cache_control_that_could_not_be_sent_as_a_header_is_a_misconfiguration(value):
    with pytest.raises(Misconfigured, match="x-cache-control"):
        Config.from_origin(origin(x_originals_bucket="originals", x_cache_control=value))


def test_the_originals_region_is_read_in_lower_case():
    """One region, one S3 client in a warm container, however the header spells it."""
    config = Config.from_origin(origin(x_originals_bucket="originals", x_originals_region=" EU-West-1 "))
    assert config.originals_region == "eu-west-1"


def test_the_originals_bucket_keeps_its_capitals_where_the_region_is_lower_cased():
    """Unlike a region's, a bucket's name is case-sensitive: us-east-1 buckets created before March 2018 may hold
    capitals, and in lower case the name would be another bucket's."""
    config = Config.from_origin(origin(x_originals_bucket=" Photos_Archive "))
    assert config.originals_bucket == "Photos_Archive"


def test_a_custom_origin_is_a_misconfiguration():
    with pytest.raises(Misconfigured):
        Config.from_origin(None)


def test_an_origin_path_is_a_misconfiguration():
    """CloudFront asks S3 for <path>/<uri>: every derivative would be stored where no request looks."""
    with pytest.raises(Misconfigured, match="origin path"):
        Config.from_origin(origin(path="/renditions", x_originals_bucket="originals"))


def test_a_config_is_frozen():
    """Read once per miss from the origin's headers: nothing deeper may change what the deployment set."""
    config = Config.from_origin(origin(x_originals_bucket="originals"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.max_dimension = 99999
