import io
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from ops import prune_versions
from ops_aws import Overriding, edge_function_stack


@pytest.fixture
def function():
    """moto, with the stack's edge function deployed; yields its name."""
    with edge_function_stack() as name:
        yield name


def lambda_client():
    return boto3.client("lambda", region_name="us-east-1")


def publish(function_name: str, times: int) -> None:
    """New code, and a version of it published, `times` over."""
    for _ in range(times):
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as files:
            files.writestr("edge/handler.py", f"# build {len(versions(function_name))}")
        lambda_client().update_function_code(FunctionName=function_name, ZipFile=archive.getvalue())
        lambda_client().publish_version(FunctionName=function_name)


def point(function_name: str, alias: str, version: str, **routing) -> None:
    try:
        lambda_client().update_alias(FunctionName=function_name, Name=alias, FunctionVersion=version, **routing)
    except lambda_client().exceptions.ResourceNotFoundException:
        lambda_client().create_alias(FunctionName=function_name, Name=alias, FunctionVersion=version, **routing)


def deploy(function_name: str, times: int) -> None:
    """What SAM does on each deploy that changes the function: a version published, then `live` pointed at it."""
    for _ in range(times):
        publish(function_name, 1)
        point(function_name, "live", versions(function_name)[-1])


def versions(function_name: str) -> list[str]:
    listed = lambda_client().list_versions_by_function(FunctionName=function_name)["Versions"]
    return [version["Version"] for version in listed]


def actions(out: str) -> dict[str, str]:
    """Version: what the run printed it did with it."""
    return dict(line.split(maxsplit=1) for line in out.splitlines() if line.startswith("  "))


def test_the_aliased_version_and_the_newest_others_are_kept(function, capsys):
    deploy(function, 6)
    assert prune_versions.main([]) == 0
    assert versions(function) == ["$LATEST", "4", "5", "6"]
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{function}: keeping the aliased versions, any newer, and the 2 newest older ones"
    assert actions(out) == {"1": "deleted", "2": "deleted", "3": "deleted", "4": "kept (--keep)",
                            "5": "kept (--keep)", "6": "kept (alias live)"}


def test_an_alias_keeps_an_old_version_and_the_versions_it_shifts_traffic_to(function, capsys):
    deploy(function, 5)
    point(function, "live", "5", RoutingConfig={"AdditionalVersionWeights": {"3": 0.1}})
    point(function, "previous", "1")
    assert prune_versions.main(["--keep", "1"]) == 0
    assert versions(function) == ["$LATEST", "1", "3", "4", "5"]
    assert actions(capsys.readouterr().out) == {"1": "kept (alias previous)", "2": "deleted", "3": "kept (alias live)",
                                                "4": "kept (--keep)", "5": "kept (alias live)"}


NEWER = "kept (newer than any alias's: a deploy may be under way)"


def test_a_version_newer_than_the_alias_is_kept_and_not_counted_in_keep(function, capsys):
    """A deploy under way has published its version and not yet moved the alias; so has a deploy rolled back."""
    deploy(function, 4)
    publish(function, 2)
    assert prune_versions.main(["--keep", "2"]) == 0
    assert versions(function) == ["$LATEST", "2", "3", "4", "5", "6"]
    assert actions(capsys.readouterr().out) == {"1": "deleted", "2": "kept (--keep)", "3": "kept (--keep)",
                                                "4": "kept (alias live)", "5": NEWER, "6": NEWER}


NO_ALIAS = "error: no alias names a version, so the one CloudFront runs is not known: nothing deleted\n"


def test_an_alias_of_latest_alone_names_no_version(function, capsys):
    publish(function, 2)
    point(function, "edit", "$LATEST")
    assert prune_versions.main(["--keep", "0"]) == 1
    assert versions(function) == ["$LATEST", "1", "2"]
    assert capsys.readouterr().err == NO_ALIAS


def test_without_an_alias_nothing_is_deleted(function, capsys):
    """As between a first deploy's publishing its version and its creating the alias."""
    publish(function, 3)
    assert prune_versions.main(["--keep", "0"]) == 1
    assert versions(function) == ["$LATEST", "1", "2", "3"]
    assert capsys.readouterr().err == NO_ALIAS


@pytest.mark.parametrize(("keep", "left"), [("0", ["$LATEST", "3"]), ("3", ["$LATEST", "1", "2", "3"])])
def test_keep_counts_the_versions_no_alias_names(function, keep, left):
    deploy(function, 3)
    assert prune_versions.main(["--keep", keep]) == 0
    assert versions(function) == left


def test_versions_sort_by_number_not_by_text(function, capsys):
    deploy(function, 11)
    assert prune_versions.main(["--keep", "1"]) == 0
    assert versions(function) == ["$LATEST", "10", "11"]
    assert list(actions(capsys.readouterr().out)) == [str(number) for number in range(1, 12)]


def test_every_page_of_versions_and_aliases_is_read(function, capsys):
    deploy(function, 4)
    point(function, "previous", "1")

    def in_pages(call, key):
        """The call's answer one item a page, as Lambda pages a long list."""
        def paged(client, Marker=None, **arguments):
            items = getattr(type(client), call)(client, **arguments)[key]
            at = int(Marker or 0)
            return {key: items[at:at + 1], **({"NextMarker": str(at + 1)} if at + 1 < len(items) else {})}

        return paged

    session = Overriding("lambda", list_versions_by_function=in_pages("list_versions_by_function", "Versions"),
                         list_aliases=in_pages("list_aliases", "Aliases"))
    assert prune_versions.main(["--keep", "1"], session=session) == 0
    assert versions(function) == ["$LATEST", "1", "3", "4"]
    assert actions(capsys.readouterr().out) == {"1": "kept (alias previous)", "2": "deleted", "3": "kept (--keep)",
                                                "4": "kept (alias live)"}


def test_a_dry_run_deletes_nothing(function, capsys):
    deploy(function, 4)
    assert prune_versions.main(["--dry-run", "--keep", "1"]) == 0
    assert versions(function) == ["$LATEST", "1", "2", "3", "4"]
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith("(dry run: nothing is deleted)")
    assert actions(out) == {"1": "would delete", "2": "would delete", "3": "kept (--keep)", "4": "kept (alias live)"}


def refusing_below(limit: int, code: str, message: str):
    """Lambda refusing to delete the versions below `limit` with this error."""
    def delete_function(client, FunctionName, Qualifier):
        if int(Qualifier) < limit:
            raise ClientError({"Error": {"Code": code, "Message": message}}, "DeleteFunction")
        return type(client).delete_function(client, FunctionName=FunctionName, Qualifier=Qualifier)

    return delete_function


def test_a_version_still_replicated_is_left_for_a_later_run(function, capsys):
    deploy(function, 5)
    message = f"Lambda was unable to delete {function}:1 because it is a replicated function. Please see our ..."
    session = Overriding("lambda", delete_function=refusing_below(2, "InvalidParameterValueException", message))
    assert prune_versions.main(["--keep", "1"], session=session) == 0
    assert versions(function) == ["$LATEST", "1", "4", "5"]
    out = capsys.readouterr().out
    assert actions(out) == {"1": "still replicated", "2": "deleted", "3": "deleted", "4": "kept (--keep)",
                            "5": "kept (alias live)"}
    assert out.splitlines()[-1] == ("still replicated: CloudFront removes a version's replicas some hours after it"
                                    " leaves the distribution; run this again then, unless a distribution still"
                                    " uses it")


def unreachable(client, FunctionName, Qualifier):
    raise EndpointConnectionError(endpoint_url="https://lambda.us-east-1.amazonaws.com/")


@pytest.mark.parametrize(("delete_function", "named"), [
    (refusing_below(3, "AccessDeniedException", "denied"), "AccessDeniedException"),
    # an alias moved onto it since the aliases were listed
    (refusing_below(3, "ResourceConflictException", "the following aliases reference it"), "ResourceConflictException"),
    # another error of the same code as a replicated version's, about a function whose name says replicated
    (refusing_below(3, "InvalidParameterValueException", "replicated-cdn:1 is not valid"),
     "InvalidParameterValueException"),
    (unreachable, "EndpointConnectionError"),
], ids=["denied", "aliased-meanwhile", "invalid", "unreachable"])
def test_a_version_not_deleted_is_named_and_fails_the_run(function, capsys, delete_function, named):
    deploy(function, 4)
    assert prune_versions.main(["--keep", "1"], session=Overriding("lambda", delete_function=delete_function)) == 1
    assert versions(function) == ["$LATEST", "1", "2", "3", "4"]
    out, err = capsys.readouterr()
    assert actions(out) == {"1": f"failed ({named})", "2": f"failed ({named})", "3": "kept (--keep)",
                            "4": "kept (alias live)"}
    assert err == "error: not deleted: 1, 2\n"


def deleted_meanwhile(client, FunctionName, Qualifier):
    type(client).delete_function(client, FunctionName=FunctionName, Qualifier=Qualifier)
    return type(client).delete_function(client, FunctionName=FunctionName, Qualifier=Qualifier)


def test_a_version_deleted_meanwhile_counts_as_deleted(function, capsys):
    deploy(function, 2)
    assert prune_versions.main(["--keep", "0"], session=Overriding("lambda", delete_function=deleted_meanwhile)) == 0
    assert versions(function) == ["$LATEST", "2"]
    assert actions(capsys.readouterr().out) == {"1": "deleted", "2": "kept (alias live)"}


def test_the_function_can_be_named_in_place_of_the_stack(function):
    deploy(function, 3)
    assert prune_versions.main(["--function-name", function, "--keep", "0"]) == 0
    assert versions(function) == ["$LATEST", "3"]


def test_a_function_that_does_not_exist_is_an_error(function, capsys):
    assert prune_versions.main(["--function-name", "elsewhere"]) == 1
    out, err = capsys.readouterr()
    assert out == "elsewhere: keeping the aliased versions, any newer, and the 2 newest older ones\n"
    assert err.startswith("error: An error occurred (ResourceNotFoundException) when calling the ListAliases operation")


def test_a_missing_stack_is_an_error(function, capsys):
    assert prune_versions.main(["--stack", "other"]) == 1
    assert capsys.readouterr().err.startswith("error: stack 'other' in us-east-1 has no EdgeFunction: ")


@pytest.mark.parametrize("keep", ["-1", "two", "", "\u00b2"])
def test_keep_is_a_count(keep, capsys):
    with pytest.raises(SystemExit) as exited:
        prune_versions.main(["--keep", keep])
    assert exited.value.code == 2
    assert f"{keep!r} is not a number of versions" in capsys.readouterr().err
