"""URLs of the accounts app: sign-in, profile, user and department settings."""

from django.contrib.auth import views as auth_views
from django.urls import path

from otdel.accounts import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/two-factor/", views.two_factor_verify, name="two_factor_verify"),
    path("login/two-factor/setup/", views.two_factor_setup, name="two_factor_setup"),
    path("settings/users/<int:pk>/two-factor/reset/", views.two_factor_reset_view, name="two_factor_reset"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("profile/", views.profile, name="profile"),
    path("settings/users/", views.user_list, name="user_list"),
    path("settings/users/new/", views.user_create, name="user_create"),
    path("settings/users/<int:pk>/", views.user_edit, name="user_edit"),
    path("settings/departments/", views.department_list, name="department_list"),
    path("settings/departments/new/", views.department_create, name="department_create"),
    path("settings/departments/<int:pk>/", views.department_edit, name="department_edit"),
    path("settings/integration-tokens/", views.integration_token_list, name="integration_token_list"),
    path(
        "settings/integration-tokens/<int:pk>/revoke/",
        views.integration_token_revoke,
        name="integration_token_revoke",
    ),
]
