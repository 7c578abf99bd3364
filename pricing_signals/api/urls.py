from rest_framework.routers import SimpleRouter

from pricing_signals.api.views import MarketSignalViewSet, PriceClaimViewSet

router = SimpleRouter()
router.register("price-claims", PriceClaimViewSet, basename="price-claim")
router.register("market-signals", MarketSignalViewSet, basename="market-signal")

urlpatterns = router.urls
