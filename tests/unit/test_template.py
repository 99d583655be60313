"""Reading SAM templates into the runtime's model: Globals, intrinsics, every definition type."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stratus.platform.ports.table import IndexSpec, TableSpec
from stratus.platform.runtime.template import (
    ApiEvent,
    Application,
    EventBridgeRuleEvent,
    S3Event,
    ScheduleEvent,
    SnsEvent,
    SqsEvent,
    StreamEvent,
    TemplateError,
    TopicSubscription,
    import_handler,
    load_application,
)

EXAMPLE = Path(__file__).resolve().parents[1] / "example_app" / "template.yaml"
REGION, ACCOUNT = "eu-west-1", "111122223333"


def write(tmp_path: Path, body: str, name: str = "template.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def load(
    path: Path, *, parameters: dict[str, str] | None = None, stack_name: str | None = None
) -> Application:
    return load_application(
        path,
        parameters=parameters,
        region=REGION,
        account=ACCOUNT,
        check_handlers=False,
        stack_name=stack_name,
    )


# ---- the example application ----------------------------------------------------------------


@pytest.fixture(scope="module")
def example() -> Application:
    return load_application(EXAMPLE)


def test_globals_are_merged_into_every_function(example: Application) -> None:
    fn = example.functions["OnOrderChangeFunction"]
    assert fn.runtime == "python3.11"
    assert fn.timeout_s == 10
    assert fn.memory_mb == 256
    assert fn.code_uri == EXAMPLE.parent / "orders"
    assert fn.environment == {
        "TABLE_NAME": "example_app-orders",
        "POWERTOOLS_SERVICE_NAME": "orders",
        "ORDER_TTL_DAYS": "30",
        "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/000000000000/FulfilQueue",
    }


def test_a_global_variable_can_be_removed_with_no_value(example: Application) -> None:
    assert "TABLE_NAME" not in example.functions["AuthorizerFunction"].environment


def test_the_stack_name_is_the_template_directory(example: Application) -> None:
    assert example.name == "example_app"
    assert example.parameters == {"Stage": "dev", "OrderTtlDays": "30"}


def test_api_events_take_the_default_authorizer_and_the_caching_settings(
    example: Application,
) -> None:
    (create,) = example.functions["CreateOrderFunction"].events
    (get,) = example.functions["GetOrderFunction"].events
    assert create == ApiEvent(
        name="CreateOrder",
        rest_api="OrdersApi",
        path="/orders",
        method="POST",
        authorizer="TokenAuthorizer",
    )
    assert get.method == "GET"
    assert get.caching is True
    assert get.cache_key_parameters == ("method.request.path.id",)


def test_the_api_carries_authorizers_throttling_caching_and_cors(example: Application) -> None:
    api = example.apis["OrdersApi"]
    assert api.stage == "dev"
    authorizer = api.authorizers["TokenAuthorizer"]
    assert authorizer.function == "AuthorizerFunction"
    assert authorizer.type == "TOKEN"
    assert authorizer.identity_sources == ("method.request.header.Authorization",)
    assert authorizer.ttl_s == 300
    assert api.default_authorizer == "TokenAuthorizer"
    assert (api.throttle_rate, api.throttle_burst) == (50.0, 100)
    assert api.cache_cluster_enabled
    setting = api.setting_for("/orders/{id}", "GET")
    assert setting is not None
    assert setting.caching_enabled
    assert setting.cache_ttl_s == 30
    assert api.cors is not None
    assert api.cors.allow_origin == "*"
    assert api.cors.max_age == 600
    assert "ServerlessRestApi" not in example.apis


def test_stream_and_queue_events_are_read(example: Application) -> None:
    (stream,) = example.functions["OnOrderChangeFunction"].events
    assert stream == StreamEvent(
        name="OrderChanged",
        table="OrdersTable",
        batch_size=25,
        starting_position="TRIM_HORIZON",
        report_batch_item_failures=True,
        filter_patterns=({"eventName": ["INSERT"]},),
    )
    (sqs,) = example.functions["StartFulfilmentFunction"].events
    assert sqs == SqsEvent(
        name="FulfilRequested", queue="FulfilQueue", batch_size=5, report_batch_item_failures=True
    )


def test_schedule_events_are_read(example: Application) -> None:
    (schedule,) = example.functions["SweepFunction"].events
    assert schedule == ScheduleEvent(name="EveryMinute", expression="rate(1 minute)")


def test_the_table_spec_comes_from_the_key_schema(example: Application) -> None:
    assert example.tables["OrdersTable"].spec == TableSpec(
        name="example_app-orders",
        partition_key="PK",
        sort_key="SK",
        indexes={"GSI1": IndexSpec("Data1", "SK")},
        ttl_attribute="ExpiresAt",
        stream=True,
    )


def test_queues_know_their_dead_letter_queue(example: Application) -> None:
    queue = example.queues["FulfilQueue"]
    assert queue.visibility_s == 60
    assert (queue.dead_letter, queue.max_receives) == ("FulfilDeadLetterQueue", 3)
    assert queue.arn == "arn:aws:sqs:us-east-1:000000000000:FulfilQueue"
    assert example.queues["FulfilDeadLetterQueue"].dead_letter is None


def test_the_state_machine_definition_has_its_substitutions_applied(example: Application) -> None:
    machine = example.state_machines["FulfilOrder"]
    assert machine.name == "example_app-fulfil-order"
    assert machine.arn.endswith(":stateMachine:example_app-fulfil-order")
    params = machine.definition["States"]["ReserveStock"]["Parameters"]
    assert params["FunctionName"] == (
        "arn:aws:lambda:us-east-1:000000000000:function:ReserveStockFunction"
    )
    assert example.functions["StartFulfilmentFunction"].environment["STATE_MACHINE_ARN"] == (
        machine.arn
    )


def test_functions_are_found_by_name_logical_id_or_arn(example: Application) -> None:
    fn = example.functions["SweepFunction"]
    arn = example.function_arn(fn)
    assert example.function_by_name("SweepFunction") is fn
    assert example.function_by_name(arn) is fn
    assert example.function_by_name(arn + ":$LATEST") is fn
    with pytest.raises(KeyError):
        example.function_by_name("NoSuchFunction")


def test_handlers_are_importable_callables(example: Application) -> None:
    handler = import_handler(example.functions["AuthorizerFunction"])
    result = handler({"authorizationToken": "allow-ann", "methodArn": "arn:x"}, None)
    assert result["principalId"] == "ann"


def test_parameters_can_be_overridden_and_conditions_follow(tmp_path: Path) -> None:
    app = load_application(EXAMPLE, parameters={"Stage": "prod"})
    assert app.apis["OrdersApi"].stage == "prod"
    assert app.functions["CreateOrderFunction"].reserved_concurrency == 20


# ---- intrinsic functions --------------------------------------------------------------------

INTRINSICS = """\
Transform: AWS::Serverless-2016-10-31
Parameters:
  Env:
    Type: String
    Default: test
  Zones:
    Type: CommaDelimitedList
    Default: "a, b, c"
Mappings:
  Sizes:
    test: {Memory: 512}
Conditions:
  IsTest: !Equals [!Ref Env, test]
  NotTest: !Not [!Condition IsTest]
  Both: !And [!Condition IsTest, !Equals [x, x]]
  Either: !Or [!Condition NotTest, !Equals [a, b]]
Globals:
  Function:
    Runtime: python3.12
    Handler: app.handler
    Environment:
      Variables:
        SHARED: global
        OVERRIDDEN: global
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-fn"
      InlineCode: "def handler(e, c): return e"
      MemorySize: !FindInMap [Sizes, !Ref Env, Memory]
      Environment:
        Variables:
          OVERRIDDEN: local
          SUB_LIST: !Sub ["${Name}/${Bucket}/${!Literal}", {Name: !Ref Env}]
          SUB_ATTR: "${Table.Arn}"
          JOIN: !Join ["-", [!Ref AWS::Region, !Ref AWS::AccountId, !Ref AWS::Partition]]
          SELECT: !Select [1, !Ref Zones]
          SPLIT: !Select [2, !Split [",", "x,y,z"]]
          IF: !If [IsTest, chosen, other]
          BOTH: !If [Both, both, neither]
          EITHER: !If [Either, either, neither]
          GONE: !If [NotTest, here, !Ref AWS::NoValue]
          SUFFIX: !Ref AWS::URLSuffix
          STREAM: !GetAtt Table.StreamArn
          QUEUE_NAME: !GetAtt Queue.QueueName
          QUEUE_URL: !GetAtt Queue.QueueUrl
          TOPIC: !Ref Topic
          TOPIC_NAME: !GetAtt Topic.TopicName
          BUCKET_ARN: !GetAtt Bucket.Arn
          BUCKET_DOMAIN: !GetAtt Bucket.DomainName
          MACHINE: !Ref Machine
          MACHINE_NAME: !GetAtt Machine.Name
          SIMPLE: !Ref Simple
          FN_ARN: !GetAtt Fn.Arn
          ROLE: !GetAtt FnRole.Arn
          SUB_IN_SUB: !Sub "${AWS::Region}:${Env}"
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      StreamSpecification: {StreamViewType: KEYS_ONLY}
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      FifoQueue: true
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: alerts
  Bucket:
    Type: AWS::S3::Bucket
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Done
        States:
          Done: {Type: Succeed}
  Simple:
    Type: AWS::Serverless::SimpleTable
    Properties:
      PrimaryKey: {Name: key, Type: String}
  Only:
    Type: AWS::SQS::Queue
    Condition: NotTest
"""


def test_intrinsic_functions_resolve_on_the_templates_own_resources(tmp_path: Path) -> None:
    app = load(write(tmp_path, INTRINSICS), stack_name="demo")
    fn = app.functions["Fn"]
    arn = f"{REGION}:{ACCOUNT}"
    assert fn.function_name == "demo-fn"
    assert fn.memory_mb == 512
    assert fn.runtime == "python3.12"
    assert fn.handler == "app.handler"
    assert fn.code_uri is None
    assert fn.environment == {
        "SHARED": "global",
        "OVERRIDDEN": "local",
        "SUB_LIST": "test/bucket/${Literal}",
        "SUB_ATTR": "${Table.Arn}",  # a plain string is not Fn::Sub
        "JOIN": f"{REGION}-{ACCOUNT}-aws",
        "SELECT": "b",
        "SPLIT": "z",
        "IF": "chosen",
        "BOTH": "both",
        "EITHER": "neither",
        "SUFFIX": "amazonaws.com",
        "STREAM": f"arn:aws:dynamodb:{arn}:table/Table/stream/1970-01-01T00:00:00.000",
        "QUEUE_NAME": "Queue.fifo",
        "QUEUE_URL": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/Queue.fifo",
        "TOPIC": f"arn:aws:sns:{arn}:alerts",
        "TOPIC_NAME": "alerts",
        "BUCKET_ARN": "arn:aws:s3:::bucket",
        "BUCKET_DOMAIN": "bucket.s3.amazonaws.com",
        "MACHINE": f"arn:aws:states:{arn}:stateMachine:Machine",
        "MACHINE_NAME": "Machine",
        "SIMPLE": "Simple",
        "FN_ARN": f"arn:aws:lambda:{arn}:function:demo-fn",
        "ROLE": f"arn:aws:iam::{ACCOUNT}:role/FnRole",
        "SUB_IN_SUB": f"{REGION}:test",
    }
    assert "Only" not in app.queues  # its Condition is false
    assert app.queues["Queue"].fifo
    assert app.tables["Simple"].spec == TableSpec(name="Simple", partition_key="key", sort_key=None)
    assert app.state_machines["Machine"].definition["StartAt"] == "Done"
    assert app.parameters["Zones"] == "a,b,c"


def test_fn_sub_with_a_list_resolves_its_variables(tmp_path: Path) -> None:
    body = INTRINSICS.replace('"${Name}/${Bucket}/${!Literal}"', '"${Name}-${AWS::Region}"')
    app = load(write(tmp_path, body))
    assert app.functions["Fn"].environment["SUB_LIST"] == f"test-{REGION}"


# ---- topics, buckets and the other event types ----------------------------------------------

EVENTS = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Handler: worker.handle
      Runtime: python3.11
      InlineCode: "x"
      Events:
        Hello:
          Type: Api
          Properties: {Path: /hello, Method: any, Auth: {ApiKeyRequired: true}}
        Alerts:
          Type: SNS
          Properties:
            Topic: !Ref Alerts
            FilterPolicy: {severity: [high]}
        Uploads:
          Type: S3
          Properties:
            Bucket: !Ref Uploads
            Events: s3:ObjectCreated:*
            Filter:
              S3Key:
                Rules: [{Name: prefix, Value: in/}, {Name: suffix, Value: .csv}]
        Nightly:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(0 2 * * ? *)
            State: DISABLED
            Input: '{"kind": "nightly"}'
        Changed:
          Type: EventBridgeRule
          Properties:
            Pattern: {source: [aws.s3]}
            InputPath: $.detail
        Kinesis:
          Type: Kinesis
          Properties: {Stream: arn:aws:kinesis:us-east-1:1:stream/x, StartingPosition: LATEST}
  Alerts:
    Type: AWS::SNS::Topic
    Properties:
      Subscription:
        - Protocol: sqs
          Endpoint: !GetAtt Inbox.Arn
  Inbox:
    Type: AWS::SQS::Queue
  Audit:
    Type: AWS::SQS::Queue
  AuditSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Alerts
      Protocol: sqs
      Endpoint: !GetAtt Audit.Arn
      RawMessageDelivery: true
      FilterPolicy: {kind: [audit]}
  Uploads:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: my-uploads
      NotificationConfiguration:
        EventBridgeConfiguration: {EventBridgeEnabled: true}
  Identities:
    Type: AWS::Cognito::IdentityPool
    Properties: {AllowUnauthenticatedIdentities: false}
"""


def test_every_event_type_is_read(tmp_path: Path) -> None:
    app = load(write(tmp_path, EVENTS))
    events = {event.name: event for event in app.functions["Worker"].events}
    assert events["Hello"] == ApiEvent(
        name="Hello", rest_api=None, path="/hello", method="ANY", api_key_required=True
    )
    assert events["Alerts"] == SnsEvent(
        name="Alerts", topic="Alerts", filter_policy={"severity": ["high"]}
    )
    assert events["Uploads"] == S3Event(
        name="Uploads",
        bucket="Uploads",
        events=("s3:ObjectCreated:*",),
        prefix="in/",
        suffix=".csv",
    )
    assert events["Nightly"] == ScheduleEvent(
        name="Nightly", expression="cron(0 2 * * ? *)", enabled=False, input={"kind": "nightly"}
    )
    assert events["Changed"] == EventBridgeRuleEvent(
        name="Changed", pattern={"source": ["aws.s3"]}, input_path="$.detail"
    )
    assert "Kinesis" not in events
    assert app.unsupported == {
        "Worker.Events.Kinesis": "Kinesis", "Identities": "AWS::Cognito::IdentityPool"
    }


def test_an_api_event_without_rest_api_creates_the_implicit_api(tmp_path: Path) -> None:
    app = load(write(tmp_path, EVENTS))
    assert app.apis["ServerlessRestApi"].stage == "Prod"


def test_topics_collect_both_kinds_of_subscription(tmp_path: Path) -> None:
    topic = load(write(tmp_path, EVENTS)).topics["Alerts"]
    assert topic.arn == f"arn:aws:sns:{REGION}:{ACCOUNT}:Alerts"
    assert topic.subscriptions == (
        TopicSubscription(
            protocol="sqs",
            endpoint_logical_id="Inbox",
            endpoint=f"arn:aws:sqs:{REGION}:{ACCOUNT}:Inbox",
        ),
        TopicSubscription(
            protocol="sqs",
            endpoint_logical_id="Audit",
            endpoint=f"arn:aws:sqs:{REGION}:{ACCOUNT}:Audit",
            filter_policy={"kind": ["audit"]},
            raw=True,
        ),
    )


def test_buckets_know_whether_they_notify_eventbridge(tmp_path: Path) -> None:
    bucket = load(write(tmp_path, EVENTS)).buckets["Uploads"]
    assert (bucket.name, bucket.eventbridge) == ("my-uploads", True)


# ---- errors name the file, the resource and the property ------------------------------------

MINIMAL = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  OrdersFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {handler}
      Runtime: python3.11
      CodeUri: code/
      Environment:
        Variables:
          TABLE: {table}
"""


def minimal(tmp_path: Path, handler: str = "tplmod_a.handle", table: str = "x") -> Path:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "tplmod_a.py").write_text("def handle(event, context):\n    return event\n")
    return write(tmp_path, MINIMAL.format(handler=handler, table=table))


def test_an_unknown_handler_attribute_fails_at_load_naming_resource_and_property(
    tmp_path: Path,
) -> None:
    path = minimal(tmp_path, handler="tplmod_a.nope")
    with pytest.raises(TemplateError) as raised:
        load_application(path)
    message = str(raised.value)
    assert "Resources.OrdersFunction.Properties.Handler" in message
    assert "'tplmod_a.nope' is not importable (module tplmod_a has no attribute nope)" in message
    assert message.startswith(str(path.name)) or str(path) in message


def test_an_unknown_handler_module_fails_at_load(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"OrdersFunction\.Properties\.Handler.*no_such_mod"):
        load_application(minimal(tmp_path, handler="no_such_mod.handle"))


def test_a_known_handler_loads_and_imports(tmp_path: Path) -> None:
    app = load_application(minimal(tmp_path))
    assert import_handler(app.functions["OrdersFunction"])({"a": 1}, None) == {"a": 1}


def test_a_ref_to_a_missing_resource_names_where(tmp_path: Path) -> None:
    with pytest.raises(TemplateError) as raised:
        load(minimal(tmp_path, table="!Ref NoSuchTable"))
    assert "Resources.OrdersFunction.Properties.Environment.Variables.TABLE.Ref" in str(
        raised.value
    )
    assert "'NoSuchTable', which is not a resource here" in str(raised.value)


def test_an_unknown_attribute_names_where(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="has no attribute 'Nope'"):
        load(minimal(tmp_path, table="!GetAtt OrdersFunction.Nope"))


def test_a_parameter_without_default_or_value_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    path = write(
        tmp_path,
        MINIMAL.format(handler="a.b", table="!Ref Missing").replace(
            "Resources:", "Parameters:\n  Missing:\n    Type: String\nResources:"
        ),
    )
    with pytest.raises(TemplateError, match=r"Parameters\.Missing: has no Default"):
        load(path)
    assert load(path, parameters={"Missing": "v"}).functions["OrdersFunction"].environment == {
        "TABLE": "v"
    }


def test_an_undefined_definition_substitution_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "sm.asl.json").write_text(
        '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${Missing}", "End": true}}}'
    )
    path = write(
        tmp_path,
        """\
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Machine:
            Type: AWS::Serverless::StateMachine
            Properties:
              DefinitionUri: sm.asl.json
              DefinitionSubstitutions: {Other: x}
        """,
    )
    with pytest.raises(TemplateError) as raised:
        load(path)
    assert "Resources.Machine.Properties.DefinitionSubstitutions" in str(raised.value)
    assert "${Missing} is used at Definition.States.A.Resource but not defined" in str(raised.value)


def test_a_bad_schedule_expression_is_reported_where_it_is(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        EVENTS.replace("cron(0 2 * * ? *)", "cron(0 2 * * * *)"),
    )
    with pytest.raises(TemplateError, match=r"Events\.Nightly\.Properties\.ScheduleExpression.*"):
        load(path)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("Resources:\n  A:\n    Properties: {}\n", "Resources.A: a resource needs a Type"),
        ("Resources: {}\n", "Resources: the template declares no resources"),
        (
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {Runtime: x}\n",
            "Resources.F.Properties.Handler",
        ),
        (
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n"
            "    Properties: {Handler: a.b, Events: {E: {Type: SQS, Properties: {}}}}\n",
            "Resources.F.Properties.Events.E.Properties.Queue: is required",
        ),
        (
            "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties: {}\n",
            "Resources.T.Properties.KeySchema: needs a HASH key",
        ),
        ("Resources: [\n", "cannot parse the template"),
    ],
)
def test_malformed_templates_are_template_errors_not_key_errors(
    tmp_path: Path, body: str, where: str
) -> None:
    with pytest.raises(TemplateError) as raised:
        load(write(tmp_path, body))
    assert where in str(raised.value)


def test_a_missing_file_is_a_template_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="no such template file"):
        load(tmp_path / "nope.yaml")


def test_globals_lists_add_up_and_maps_merge(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        Transform: AWS::Serverless-2016-10-31
        Globals:
          Api:
            MethodSettings:
              - {ResourcePath: "/*", HttpMethod: "*", ThrottlingRateLimit: 5}
            Auth:
              ApiKeyRequired: true
        Resources:
          Api:
            Type: AWS::Serverless::Api
            Properties:
              StageName: v1
              MethodSettings:
                - {ResourcePath: "/~1items", HttpMethod: GET, CachingEnabled: true}
              Auth:
                UsagePlan:
                  CreateUsagePlan: PER_API
                  Throttle: {RateLimit: 10, BurstLimit: 20}
                  Quota: {Limit: 1000, Period: DAY}
        """,
    )
    api = load(path).apis["Api"]
    assert [(s.resource_path, s.http_method) for s in api.method_settings] == [
        ("/*", "*"),
        ("/items", "GET"),
    ]
    assert api.throttle_rate == 5.0
    assert api.api_key_required
    assert api.usage_plan is not None
    assert (api.usage_plan.throttle_rate, api.usage_plan.throttle_burst) == (10.0, 20)
    assert (api.usage_plan.quota_limit, api.usage_plan.quota_period) == (1000, "DAY")


def test_ses_identities_are_collected_as_verified_senders(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        Resources:
          Sender:
            Type: AWS::SES::EmailIdentity
            Properties: {EmailIdentity: noreply@example.com}
        """,
    )
    app = load(path)
    assert app.email_identities == ("noreply@example.com",)
    assert app.unsupported == {}


USER_POOL = """\
    Resources:
      Pool:
        Type: AWS::Cognito::UserPool
        Properties:
          UserPoolName: !Sub "${AWS::StackName}-users"
          Policies:
            PasswordPolicy: {MinimumLength: 12, RequireSymbols: false, RequireUppercase: "false"}
      Admins:
        Type: AWS::Cognito::UserPoolGroup
        Properties: {UserPoolId: !Ref Pool, GroupName: admin}
      Editors:
        Type: AWS::Cognito::UserPoolGroup
        Properties: {UserPoolId: !Ref Pool}
      Web:
        Type: AWS::Cognito::UserPoolClient
        Properties:
          UserPoolId: !Ref Pool
          ClientName: web client
          ExplicitAuthFlows: [ALLOW_USER_PASSWORD_AUTH]
          IdTokenValidity: 12
          AccessTokenValidity: 30
          TokenValidityUnits: {AccessToken: minutes}
      Srp:
        Type: AWS::Cognito::UserPoolClient
        Properties: {UserPoolId: !Ref Pool}
      Fn:
        Type: AWS::Serverless::Function
        Properties:
          Handler: app.handle
          Runtime: python3.11
          InlineCode: "def handle(e, c): return 1"
          Environment:
            Variables:
              POOL: !Ref Pool
              CLIENT: !Ref Web
              ARN: !GetAtt Pool.Arn
              URL: !GetAtt Pool.ProviderURL
    """


def test_user_pools_come_with_their_policy_groups_and_clients(tmp_path: Path) -> None:
    from stratus.platform.ports.identity import PasswordPolicy

    app = load(write(tmp_path, USER_POOL), stack_name="shop")

    pool = app.user_pools["Pool"]
    assert pool.pool_id == f"{REGION}_shop-users"
    assert pool.policy == PasswordPolicy(12, require_uppercase=False, require_symbols=False)
    assert pool.groups == ("admin", "Editors")
    web, srp = pool.clients
    assert (web.client_id, web.id_token_validity_s, web.access_token_validity_s) == (
        "webclient", 12 * 3600, 30 * 60
    )
    assert web.password_auth
    assert (srp.client_id, srp.id_token_validity_s, srp.password_auth) == ("Srp", 3600, False)
    env = app.functions["Fn"].environment
    assert env["POOL"] == pool.pool_id
    assert env["CLIENT"] == "webclient"
    assert env["ARN"] == f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{pool.pool_id}"
    assert env["URL"] == f"https://cognito-idp.{REGION}.amazonaws.com/{pool.pool_id}"
    assert app.unsupported == {}


def test_a_pool_client_must_name_a_pool_of_the_template(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        Resources:
          Web:
            Type: AWS::Cognito::UserPoolClient
            Properties: {UserPoolId: us-east-1_elsewhere}
        """,
    )
    with pytest.raises(TemplateError, match=r"Web\.Properties\.UserPoolId"):
        load(path)


def test_two_code_directories_may_use_the_same_module_name(tmp_path: Path) -> None:
    handlers = {}
    for name in ("one", "two"):
        code = tmp_path / name / "code"
        code.mkdir(parents=True)
        (code / "tplmod_same.py").write_text(
            f"def handle(event, context):\n    return {name!r}\n", encoding="utf-8"
        )
        path = write(tmp_path / name, MINIMAL.format(handler="tplmod_same.handle", table="x"))
        handlers[name] = import_handler(load_application(path).functions["OrdersFunction"])
    assert handlers["one"](None, None) == "one"
    assert handlers["two"](None, None) == "two"


def test_the_template_metadata_is_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        Metadata:
          stratus: {demo: "demo.py:load"}
        Resources:
          Q: {Type: "AWS::SQS::Queue"}
        """,
    )
    assert load(path).metadata == {"stratus": {"demo": "demo.py:load"}}


def test_an_openapi_body_gives_the_api_its_routes_even_when_included(tmp_path: Path) -> None:
    (tmp_path / "openapi.yaml").write_text(
        textwrap.dedent(
            """\
            openapi: "3.0.1"
            info: {title: t, version: "1"}
            paths:
              /items:
                get:
                  x-amazon-apigateway-integration:
                    type: aws_proxy
                    httpMethod: POST
                    uri: !Sub "arn:aws:apigateway:${AWS::Region}:lambda:path/functions/x"
              /items/{id}:
                x-amazon-apigateway-any-method: {}
            """
        ),
        encoding="utf-8",
    )
    path = write(
        tmp_path,
        """\
        Resources:
          Api:
            Type: AWS::Serverless::Api
            Properties:
              StageName: v1
              DefinitionBody:
                Fn::Transform:
                  Name: AWS::Include
                  Parameters: {Location: openapi.yaml}
        """,
    )
    assert load(path).apis["Api"].routes == (("/items", "GET"), ("/items/{id}", "ANY"))


def test_inline_code_handlers_are_built_from_the_template(tmp_path: Path) -> None:
    app = load_application(write(tmp_path, INTRINSICS), check_handlers=True)
    fn = app.functions["Fn"]
    assert fn.inline_code == "def handler(e, c): return e"
    assert import_handler(fn)({"echo": 1}, None) == {"echo": 1}


def test_import_handler_names_the_template_resource_and_property(tmp_path: Path) -> None:
    app = load_application(minimal(tmp_path, handler="tplmod_a.missing"), check_handlers=False)
    with pytest.raises(TemplateError) as raised:
        import_handler(app.functions["OrdersFunction"])
    assert raised.value.file.endswith("template.yaml")
    assert raised.value.where == "Resources.OrdersFunction.Properties.Handler"
    assert raised.value.reason == (
        "'tplmod_a.missing' is not importable (module tplmod_a has no attribute missing)"
    )
