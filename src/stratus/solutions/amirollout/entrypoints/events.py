"""pydantic models of the messages the rollout receives (the edge)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from stratus.solutions.amirollout.domain.model import ImageBuilt, OutputAmi


class _Ami(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    region: str
    image: str
    name: str = ""
    account_id: str = Field("", alias="accountId")


class _Outputs(BaseModel):
    model_config = ConfigDict(extra="ignore")
    amis: list[_Ami] = []


class _State(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: str


class ImageBuilderMessage(BaseModel):
    """The SNS message EC2 Image Builder publishes when an image changes state."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    arn: str
    name: str = ""
    state: _State
    output_resources: _Outputs = Field(default_factory=_Outputs, alias="outputResources")

    def to_domain(self) -> ImageBuilt:
        return ImageBuilt(
            image_arn=self.arn,
            status=self.state.status,
            name=self.name,
            amis=tuple(
                OutputAmi(region=a.region, image=a.image, name=a.name, account_id=a.account_id)
                for a in self.output_resources.amis
            ),
        )
