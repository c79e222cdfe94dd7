"""The packaged template deployed into a VPC (its own module: each moto deployment here
takes the stack's fixed resource names, so it cannot share moto with test_deploy's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.infra.test_deploy import FUNCTIONS, client, deployed


def _vpc_parameters() -> dict[str, str]:
    """A VPC with two private subnets, the functions' security group and a route table."""
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.8.{i}.0/24")["Subnet"]["SubnetId"]
        for i in (1, 2)
    ]
    group = ec2.create_security_group(GroupName="fn", Description="fn", VpcId=vpc)["GroupId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    return {
        "VpcId": vpc, "VpcSubnetIds": ",".join(subnets), "VpcSecurityGroupIds": group,
        "VpcRouteTableIds": table,
    }  # fmt: skip


def test_in_a_vpc_the_functions_get_the_endpoints_they_need(
    template: dict[str, Any], package_dir: Path
) -> None:
    with deployed(template, package_dir, _vpc_parameters) as resources:
        ec2 = client("ec2")
        names = ("DynamoDBEndpoint", "KmsEndpoint", "FirehoseEndpoint", "StsEndpoint")
        ids = [resources[name] for name in names]
        endpoints = ec2.describe_vpc_endpoints(VpcEndpointIds=ids)["VpcEndpoints"]
        services = {e["ServiceName"].rsplit(".", 1)[-1]: e for e in endpoints}
        assert set(services) == {"dynamodb", "kms", "kinesis-firehose", "sts"}
        assert services["dynamodb"]["VpcEndpointType"] == "Gateway"
        assert all(services[name]["PrivateDnsEnabled"] for name in ("kms", "sts"))
        [group] = ec2.describe_security_groups(GroupIds=[resources["EndpointSecurityGroup"]])[
            "SecurityGroups"
        ]
        [rule] = group["IpPermissions"]
        assert (rule["FromPort"], rule["ToPort"]) == (443, 443)
        for function in FUNCTIONS:
            config = client("lambda").get_function_configuration(
                FunctionName=resources[function]
            )
            assert len(config["VpcConfig"]["SubnetIds"]) == 2
