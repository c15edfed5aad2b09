"""Storage components: NFS provisioner, EBS CSI add-on with a gp3 class."""

from components.storage.ebs import EbsCsiStorage, EbsCsiStorageArgs
from components.storage.nfs import NfsProvisioner, NfsProvisionerArgs

__all__ = ["EbsCsiStorage", "EbsCsiStorageArgs", "NfsProvisioner", "NfsProvisionerArgs"]
