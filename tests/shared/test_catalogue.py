"""The published event catalogue is generated from the code and never stale (CONTRACT §8)."""

from helpdesk_shared import catalogue


def test_docs_event_catalogue_matches_the_code() -> None:
    for path, text in catalogue.render().items():
        assert path.read_text() == text, f"{path} is stale: run python -m helpdesk_shared.catalogue"


def test_every_ticket_event_has_a_schema_in_the_asyncapi_document() -> None:
    document = catalogue.asyncapi()
    assert set(document["components"]["messages"]) >= {"TicketOpened", "Accepted", "Rejected"}
    assert "TicketOpened" in document["components"]["schemas"]
