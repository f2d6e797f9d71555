"""The weekly digest, one module per step: when it is due (`period`), what it says (`build`), read from
the ledger (`compose`), shown in Block Kit (`blocks`) with its chart (`chart`), and posted once
across replicas (`publish`)."""
