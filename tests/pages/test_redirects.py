"""After a settlement decision the page goes back where the form was, never to another site."""

from django.urls import reverse

from rebates.models import Settlement


def test_approving_returns_to_the_page_it_was_asked_from(scenario, client_for):
    client = client_for(scenario["finance"])
    settlement = Settlement.objects.get(agreement__number="AG-SEED-2025")
    back = reverse("settlements") + "?status=draft"
    response = client.post(reverse("settlement-approve", args=[settlement.pk]), {"next": back})
    assert response.status_code == 302 and response["Location"] == back


def test_a_next_address_on_another_site_is_ignored(scenario, client_for):
    client = client_for(scenario["finance"])
    settlement = Settlement.objects.get(agreement__number="AG-SEED-2025")
    response = client.post(reverse("settlement-approve", args=[settlement.pk]), {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == reverse("settlements")
